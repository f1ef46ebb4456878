// `client`: relying parties. Secrets are printed only by create --generate-secret and rotate-secret.
import { CLI_ACTOR } from '../services/admin-audit.ts';
import { deleteClientByAdmin, getClient, rotateClientSecret, updateClientByAdmin } from '../services/client-admin.ts';
import { ClientValidationError, createClient, generateClientSecret } from '../services/clients.ts';
import { clientsPage } from '../services/pages.ts';
import { command, defineGroup, intOpt, opt, req } from './command.ts';
import { CliError, list, withDb, withStores } from './context.ts';

const id = { id: { type: 'string' } } as const;

function clientId(v: Record<string, unknown>): string {
  const value = req(v, 'id');
  if (!/^[A-Za-z0-9._~-]{1,255}$/.test(value)) throw new CliError('--id may contain only letters, digits and . _ ~ -');
  return value;
}

const metadataOptions = {
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'grant-types': { type: 'string' },
  scope: { type: 'string' },
} as const;

const group = defineGroup('client', {
  create: command({
    usage: `--id ID [--secret S | --generate-secret] [--name NAME] --redirect-uri URI [--redirect-uri URI2]
              [--grant-types authorization_code,refresh_token,client_credentials]
              [--scope "openid profile email offline_access"] [--post-logout-redirect-uri URI]`,
    describe: 'Registers a relying party. Without a secret it is a public client (PKCE required).\n--generate-secret prints a generated secret once.',
    options: { ...id, secret: { type: 'string' }, 'generate-secret': { type: 'boolean' }, ...metadataOptions },
    async run(v) {
      if (v.secret && v['generate-secret']) throw new CliError('use either --secret or --generate-secret');
      const secret = v['generate-secret'] ? generateClientSecret() : opt(v, 'secret');
      const input = {
        id: clientId(v),
        secret,
        name: opt(v, 'name'),
        redirectUris: list(v['redirect-uri']),
        postLogoutRedirectUris: list(v['post-logout-redirect-uri']),
        grantTypes: list(v['grant-types'] ?? 'authorization_code,refresh_token'),
        scope: opt(v, 'scope') ?? 'openid profile email offline_access',
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
      return { ...shown, public: !secret, ...(v['generate-secret'] ? { client_secret: secret } : {}) };
    },
  }),
  list: command({
    usage: '[--limit N] [--cursor C]',
    describe: 'Lists clients (secrets are not shown).',
    options: { limit: { type: 'string' }, cursor: { type: 'string' } },
    run: (v) => withDb(({ db, config }) => clientsPage(db.prisma, config.hmacKey, { limit: intOpt(v, 'limit', 1, 1000) ?? 100, cursor: opt(v, 'cursor') })),
  }),
  get: command({ usage: '--id ID', options: id, run: (v) => withDb(({ db }) => getClient(db.prisma, clientId(v))) }),
  update: command({
    usage: '--id ID [--name NAME] [--redirect-uri URI ...] [--post-logout-redirect-uri URI ...] [--grant-types LIST] [--scope S]',
    describe: 'Changes metadata; given lists replace the current ones. Validated as at creation.',
    options: { ...id, ...metadataOptions },
    run: (v) => {
      const patch = Object.fromEntries(
        Object.entries({
          name: opt(v, 'name'),
          redirectUris: v['redirect-uri'] ? list(v['redirect-uri']) : undefined,
          postLogoutRedirectUris: v['post-logout-redirect-uri'] ? list(v['post-logout-redirect-uri']) : undefined,
          grantTypes: v['grant-types'] ? list(v['grant-types']) : undefined,
          scope: opt(v, 'scope'),
        }).filter(([, x]) => x !== undefined),
      );
      if (!Object.keys(patch).length) throw new CliError('nothing to change');
      return withDb(({ db }) => updateClientByAdmin(db.prisma, CLI_ACTOR, clientId(v), patch));
    },
  }),
  'rotate-secret': command({
    usage: '--id ID',
    describe: 'Replaces the secret of a confidential client and prints the new one once.',
    options: id,
    run: (v) => withDb(({ db }) => rotateClientSecret(db.prisma, CLI_ACTOR, clientId(v))),
  }),
  delete: command({
    usage: '--id ID',
    describe: 'Deletes the client and revokes every grant and token issued to it.',
    options: id,
    run: async (v) => {
      const cid = clientId(v);
      await withStores(({ db, revokeGrant }) => deleteClientByAdmin(db.prisma, revokeGrant, CLI_ACTOR, cid));
      return { deleted: cid };
    },
  }),
});

export const help = group.help;
export const run = group.run;
export const commands = group.commands;
