import { ClientValidationError, createClient } from '../services/clients.ts';
import { CliError, list, parse, print, required, withDb } from './context.ts';

export const help = `client create --id ID [--secret S] [--name NAME] --redirect-uri URI [--redirect-uri URI2]
              [--grant-types authorization_code,refresh_token,client_credentials]
              [--scope "openid profile email offline_access"] [--post-logout-redirect-uri URI]
                 Registers a relying party. Without --secret it is a public client (PKCE required).
client list      Lists clients (secrets are not shown).
client delete --id ID`;

export async function run(sub: string | undefined, argv: string[]): Promise<void> {
  if (sub === 'create') {
    const v = parse(argv, {
      id: { type: 'string' },
      secret: { type: 'string' },
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'grant-types': { type: 'string' },
      scope: { type: 'string' },
    });
    if (v.help) return console.log(help);
    const id = required(v, 'id');
    if (!/^[A-Za-z0-9._~-]{1,255}$/.test(id)) throw new CliError('--id may contain only letters, digits and . _ ~ -');
    const grantTypes = list(v['grant-types'] ?? 'authorization_code,refresh_token');
    const input = {
      id,
      secret: v.secret as string | undefined,
      name: v.name as string | undefined,
      redirectUris: list(v['redirect-uri']),
      postLogoutRedirectUris: list(v['post-logout-redirect-uri']),
      grantTypes,
      scope: (v.scope as string | undefined) ?? 'openid profile email offline_access',
    };
    const metadata = await withDb(async ({ db }) => {
      try {
        return await createClient(db.prisma, input);
      } catch (err) {
        if (err instanceof ClientValidationError) throw new CliError(err.message);
        throw err;
      }
    });
    const { client_secret: _secret, ...shown } = metadata as Record<string, unknown>;
    return print({ ...shown, public: !input.secret });
  }
  if (sub === 'list') {
    const rows = await withDb(({ db }) => db.prisma.client.findMany({ orderBy: { createdAt: 'asc' } }));
    return print(
      rows.map((r) => {
        const { client_secret: _s, ...meta } = r.payload as Record<string, unknown>;
        return { ...meta, dynamic: r.dynamic, createdAt: r.createdAt };
      }),
    );
  }
  if (sub === 'delete') {
    const v = parse(argv, { id: { type: 'string' } });
    const id = required(v, 'id');
    const n = await withDb(({ db }) => db.prisma.client.deleteMany({ where: { id } }));
    if (!n.count) throw new CliError(`no client with id "${id}"`);
    return print({ deleted: id });
  }
  throw new CliError(`usage:\n${help}`);
}
