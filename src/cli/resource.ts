// `resource`: resource servers (APIs) that accept our JWT access tokens.
import { CLI_ACTOR } from '../services/admin-audit.ts';
import { resourcesPage } from '../services/pages.ts';
import { createResource, deleteResource, getResource, updateResource } from '../services/resource-admin.ts';
import { resourceIdentifierSchema, scopeListSchema } from '../services/resources.ts';
import { command, defineGroup, intOpt, opt, req } from './command.ts';
import { CliError, withDb } from './context.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const id = { id: { type: 'string' } } as const;

function resourceId(v: Record<string, unknown>): string {
  const value = req(v, 'id');
  if (!UUID.test(value)) throw new CliError('--id must be the resource server id (a UUID; see resource list)');
  return value;
}

const scope = (v: Record<string, unknown>) => {
  const s = opt(v, 'scope');
  return s === undefined ? undefined : scopeListSchema.parse(s.trim().replace(/\s+/g, ' '));
};

const group = defineGroup('resource', {
  create: command({
    usage: '--identifier URI --scope "read write" [--access-token-ttl SECONDS]',
    describe: 'Registers an API; tokens requested with resource=URI are JWTs (RFC 9068).',
    options: { identifier: { type: 'string' }, scope: { type: 'string' }, 'access-token-ttl': { type: 'string' } },
    run: (v) => {
      const input = { identifier: resourceIdentifierSchema.parse(req(v, 'identifier')), scope: scope(v) ?? '', accessTokenTtl: intOpt(v, 'access-token-ttl', 1, 86_400) };
      return withDb(({ db }) => createResource(db.prisma, CLI_ACTOR, input));
    },
  }),
  list: command({
    usage: '[--limit N] [--cursor C]',
    options: { limit: { type: 'string' }, cursor: { type: 'string' } },
    run: (v) => withDb(({ db, config }) => resourcesPage(db.prisma, config.hmacKey, { limit: intOpt(v, 'limit', 1, 1000) ?? 100, cursor: opt(v, 'cursor') })),
  }),
  get: command({ usage: '--id ID', options: id, run: (v) => withDb(({ db }) => getResource(db.prisma, resourceId(v))) }),
  update: command({
    usage: '--id ID [--scope "read write"] [--access-token-ttl SECONDS]',
    options: { ...id, scope: { type: 'string' }, 'access-token-ttl': { type: 'string' } },
    run: (v) => {
      const patch = Object.fromEntries(Object.entries({ scope: scope(v), accessTokenTtl: intOpt(v, 'access-token-ttl', 1, 86_400) }).filter(([, x]) => x !== undefined));
      if (!Object.keys(patch).length) throw new CliError('nothing to change');
      return withDb(({ db, config }) => updateResource(db.prisma, CLI_ACTOR, config.admin.audience, resourceId(v), patch));
    },
  }),
  delete: command({
    usage: '--id ID',
    options: id,
    run: async (v) => {
      const rid = resourceId(v);
      await withDb(({ db, config }) => deleteResource(db.prisma, CLI_ACTOR, config.admin.audience, rid));
      return { deleted: rid };
    },
  }),
});

export const help = group.help;
export const run = group.run;
export const commands = group.commands;
