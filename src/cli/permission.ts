// `permission`: named capabilities (read:user, write:post) that roles grant and tokens carry.
import { CLI_ACTOR } from '../services/admin-audit.ts';
import { permissionsPage } from '../services/pages.ts';
import { createPermission, deletePermission, getPermission, updatePermission } from '../services/permissions.ts';
import { command, defineGroup, intOpt, opt } from './command.ts';
import { CliError, withDb } from './context.ts';
import { permissionName } from './role.ts';

const name = { name: { type: 'string' } } as const;

function description(v: Record<string, unknown>): string | undefined {
  const d = opt(v, 'description')?.trim();
  if (d !== undefined && (d.length < 1 || d.length > 255)) throw new CliError('--description must be 1–255 characters');
  return d;
}

const group = defineGroup('permission', {
  list: command({
    usage: '[--limit N] [--cursor C]',
    options: { limit: { type: 'string' }, cursor: { type: 'string' } },
    run: (v) => withDb(({ db, config }) => permissionsPage(db.prisma, config.hmacKey, { limit: intOpt(v, 'limit', 1, 1000) ?? 100, cursor: opt(v, 'cursor') })),
  }),
  get: command({ usage: '--name PERMISSION', options: name, run: (v) => withDb(({ db }) => getPermission(db.prisma, permissionName(v, 'name'))) }),
  create: command({
    usage: '--name PERMISSION [--description TEXT]',
    describe: 'Creates a permission. To appear in access tokens it must also be a scope of the resource server that checks it.',
    options: { ...name, description: { type: 'string' } },
    run: (v) => withDb(({ db }) => createPermission(db.prisma, CLI_ACTOR, { name: permissionName(v, 'name'), description: description(v) })),
  }),
  update: command({
    usage: '--name PERMISSION --description TEXT',
    options: { ...name, description: { type: 'string' } },
    run: (v) => withDb(({ db }) => updatePermission(db.prisma, CLI_ACTOR, permissionName(v, 'name'), { description: description(v) ?? null })),
  }),
  delete: command({
    usage: '--name PERMISSION',
    describe: 'Deletes a permission; refused while a role grants it.',
    options: name,
    run: async (v) => {
      const p = permissionName(v, 'name');
      await withDb(({ db }) => deletePermission(db.prisma, CLI_ACTOR, p));
      return { deleted: p };
    },
  }),
});

export const help = group.help;
export const run = group.run;
export const commands = group.commands;
