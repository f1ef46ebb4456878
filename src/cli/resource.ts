import { ZodError } from 'zod';
import { createResourceServer } from '../services/resources.ts';
import { CliError, parse, print, required, withDb } from './context.ts';

export const help = `resource create --identifier URI --scope "read write" [--access-token-ttl SECONDS]
                 Registers an API; tokens requested with resource=URI are JWTs (RFC 9068).
resource list`;

export async function run(sub: string | undefined, argv: string[]): Promise<void> {
  if (sub === 'create') {
    const v = parse(argv, { identifier: { type: 'string' }, scope: { type: 'string' }, 'access-token-ttl': { type: 'string' } });
    if (v.help) return console.log(help);
    const identifier = required(v, 'identifier');
    const ttl = v['access-token-ttl'] === undefined ? undefined : Number(v['access-token-ttl']);
    if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0 || ttl > 86_400)) throw new CliError('--access-token-ttl must be 1–86400 seconds');
    const rs = await withDb(async ({ db }) => {
      try {
        return await createResourceServer(db.prisma, { identifier, scope: (v.scope as string | undefined) ?? '', accessTokenTtl: ttl });
      } catch (err) {
        if (err instanceof ZodError) throw new CliError(err.issues.map((i) => i.message).join('; '));
        if ((err as { code?: string }).code === 'P2002') throw new CliError(`resource "${identifier}" already exists`);
        throw err;
      }
    });
    return print(rs);
  }
  if (sub === 'list') return print(await withDb(({ db }) => db.prisma.resourceServer.findMany({ orderBy: { createdAt: 'asc' } })));
  throw new CliError(`usage:\n${help}`);
}
