// `role`: roles and the permissions they grant.
import { CLI_ACTOR } from '../services/admin-audit.ts';
import { rolesPage } from '../services/pages.ts';
import { ROLE_NAME, PERMISSION_NAME } from '../services/rbac.ts';
import { createRole, deleteRole, getRole, setRolePermission, updateRole } from '../services/roles.ts';
import { command, defineGroup, intOpt, opt, req } from './command.ts';
import { CliError, list, withDb } from './context.ts';

export function roleName(v: Record<string, unknown>, key = 'name'): string {
  const name = req(v, key);
  if (!ROLE_NAME.test(name)) throw new CliError(`--${key} must be 1–64 lowercase letters, digits, _ or -`);
  return name;
}

export function permissionName(v: Record<string, unknown>, key = 'permission'): string {
  const name = req(v, key);
  if (name.length > 128 || !PERMISSION_NAME.test(name)) throw new CliError(`--${key} must look like read:user or write:post`);
  return name;
}

function description(v: Record<string, unknown>): string | undefined {
  const d = opt(v, 'description')?.trim();
  if (d !== undefined && (d.length < 1 || d.length > 255)) throw new CliError('--description must be 1–255 characters');
  return d;
}

const name = { name: { type: 'string' } } as const;
const grant = (present: boolean) =>
  command({
    usage: '--name ROLE --permission PERMISSION',
    describe: present ? 'Grants a permission to a role (idempotent).' : 'Takes a permission from a role (idempotent).',
    options: { ...name, permission: { type: 'string' } },
    run: (v) => withDb(({ db }) => setRolePermission(db.prisma, CLI_ACTOR, roleName(v), permissionName(v), present)),
  });

const group = defineGroup('role', {
  list: command({
    usage: '[--limit N] [--cursor C]',
    describe: 'Lists roles with their permissions and how many users hold them.',
    options: { limit: { type: 'string' }, cursor: { type: 'string' } },
    run: (v) => withDb(({ db, config }) => rolesPage(db.prisma, config.hmacKey, { limit: intOpt(v, 'limit', 1, 1000) ?? 100, cursor: opt(v, 'cursor') })),
  }),
  get: command({ usage: '--name ROLE', options: name, run: (v) => withDb(({ db }) => getRole(db.prisma, roleName(v))) }),
  create: command({
    usage: '--name ROLE [--description TEXT] [--permission P ...]',
    describe: 'Creates a role (for example customer or manager), optionally with existing permissions.',
    options: { ...name, description: { type: 'string' }, permission: { type: 'string', multiple: true } },
    run: (v) => {
      const permissions = list(v.permission);
      for (const p of permissions) permissionName({ permission: p });
      return withDb(({ db }) => createRole(db.prisma, CLI_ACTOR, { name: roleName(v), description: description(v), permissions }));
    },
  }),
  update: command({
    usage: '--name ROLE --description TEXT',
    options: { ...name, description: { type: 'string' } },
    run: (v) => withDb(({ db }) => updateRole(db.prisma, CLI_ACTOR, roleName(v), { description: description(v) ?? null })),
  }),
  delete: command({
    usage: '--name ROLE',
    describe: 'Deletes a role; refused while any user holds it, and for the built-in admin and user.',
    options: name,
    run: async (v) => {
      const role = roleName(v);
      await withDb(({ db }) => deleteRole(db.prisma, CLI_ACTOR, role));
      return { deleted: role };
    },
  }),
  'add-permission': grant(true),
  'remove-permission': grant(false),
});

export const help = group.help;
export const run = group.run;
export const commands = group.commands;
