// `user create`: also imports existing argon2/bcrypt hashes, which the admin API does not accept.
import { ZodError } from 'zod';
import { CLI_ACTOR, recordAdminEvent } from '../services/admin-audit.ts';
import { createUser, UserExistsError } from '../services/users.ts';
import { command, opt, req } from './command.ts';
import { CliError, list, withDb } from './context.ts';

export const createUserCommand = command({
  usage: `--email E (--password P | --password-hash PHC) [--username U] [--verified]
              [--first-name F] [--last-name L] [--role NAME ...]`,
  describe: 'Creates a user with the given roles (default: DEFAULT_ROLES). --password-hash imports an argon2 or bcrypt hash.',
  options: {
    email: { type: 'string' },
    password: { type: 'string' },
    'password-hash': { type: 'string' },
    username: { type: 'string' },
    verified: { type: 'boolean' },
    'first-name': { type: 'string' },
    'last-name': { type: 'string' },
    role: { type: 'string', multiple: true },
  },
  async run(v) {
    const email = req(v, 'email');
    const hash = opt(v, 'password-hash');
    if (!v.password && !hash) throw new CliError('--password or --password-hash is required');
    if (hash && !/^\$(argon2id|argon2i|2a|2b|2y)\$/.test(hash)) throw new CliError('--password-hash must be an argon2 or bcrypt hash');
    return withDb(async ({ db, config }) => {
      const roles = v.role ? list(v.role) : config.account.defaultRoles;
      const known = await db.prisma.role.findMany({ where: { name: { in: roles } }, select: { name: true } });
      const unknown = roles.filter((r) => !known.some((k) => k.name === r));
      if (unknown.length) throw new CliError(`unknown role: ${unknown.join(', ')}`);
      try {
        const user = await createUser(db.prisma, {
          email,
          password: opt(v, 'password'),
          passwordHash: hash,
          username: opt(v, 'username'),
          emailVerified: Boolean(v.verified),
          firstName: opt(v, 'first-name'),
          lastName: opt(v, 'last-name'),
          roles,
        });
        await recordAdminEvent(db.prisma, CLI_ACTOR, { userId: user.id, type: 'user_created', action: 'user.create', details: { roles } });
        const { passwordHash: _h, ...shown } = user;
        return { ...shown, roles: [...roles].sort() };
      } catch (err) {
        if (err instanceof ZodError) throw new CliError(err.issues.map((i) => `${i.path.join('.') || 'value'} ${i.message}`).join('; '));
        if (err instanceof UserExistsError) throw new CliError(err.message);
        throw err;
      }
    });
  },
});
