import { ZodError } from 'zod';
import { createUser, UserExistsError } from '../services/users.ts';
import { setUserStatus } from '../services/account-status.ts';
import { findUserByLogin } from '../services/users.ts';
import { CliError, parse, print, required, withDb, withStores } from './context.ts';

export const help = `user create --email E (--password P | --password-hash PHC) [--username U] [--verified]
              [--first-name F] [--last-name L]
                 Creates a user (role "user"). --password-hash imports an argon2 or bcrypt hash.
user list        Lists users.
user suspend|disable|activate --user EMAIL_OR_USERNAME
                 Changes the status. Suspending or disabling ends the user's sessions and revokes
                 their grants and refresh tokens at once.`;

const STATUS = { suspend: 'suspended', disable: 'disabled', activate: 'active' } as const;

export async function run(sub: string | undefined, argv: string[]): Promise<void> {
  if (sub === 'create') {
    const v = parse(argv, {
      email: { type: 'string' },
      password: { type: 'string' },
      'password-hash': { type: 'string' },
      username: { type: 'string' },
      verified: { type: 'boolean' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
    });
    if (v.help) return console.log(help);
    const email = required(v, 'email');
    if (!v.password && !v['password-hash']) throw new CliError('--password or --password-hash is required');
    const hash = v['password-hash'] as string | undefined;
    if (hash && !/^\$(argon2id|argon2i|2a|2b|2y)\$/.test(hash)) throw new CliError('--password-hash must be an argon2 or bcrypt hash');
    const user = await withDb(async ({ db }) => {
      try {
        return await createUser(db.prisma, {
          email,
          password: v.password as string | undefined,
          passwordHash: hash,
          username: v.username as string | undefined,
          emailVerified: Boolean(v.verified),
          firstName: v['first-name'] as string | undefined,
          lastName: v['last-name'] as string | undefined,
        });
      } catch (err) {
        if (err instanceof ZodError) throw new CliError(err.issues.map((i) => `${i.path.join('.') || 'value'} ${i.message}`).join('; '));
        if (err instanceof UserExistsError) throw new CliError(err.message);
        throw err;
      }
    });
    const { passwordHash: _h, ...shown } = user;
    return print(shown);
  }
  if (sub === 'suspend' || sub === 'disable' || sub === 'activate') {
    const v = parse(argv, { user: { type: 'string' } });
    if (v.help) return console.log(help);
    const login = required(v, 'user');
    return print(
      await withStores(async ({ db, revokeGrant }) => {
        const user = await findUserByLogin(db.prisma, login);
        if (!user) throw new CliError(`no user "${login}"`);
        const r = await setUserStatus(db.prisma, revokeGrant, user.id, STATUS[sub], { actor: 'cli' });
        return { id: user.id, status: STATUS[sub], ...r };
      }),
    );
  }
  if (sub === 'list') {
    const users = await withDb(({ db }) =>
      db.prisma.user.findMany({ orderBy: { createdAt: 'asc' }, take: 1000, omit: { passwordHash: true } }),
    );
    return print(users);
  }
  throw new CliError(`usage:\n${help}`);
}
