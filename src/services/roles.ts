// Roles: definition, their permissions, and which users hold them. Every change is one transaction
// together with its AccountEvent, so nothing is half-written.
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { HttpError } from '../errors.ts';
import { ACCESS_CONFIG_EVENT, recordAdminEvent, type Actor } from './admin-audit.ts';

/** Roles every installation relies on (seeded by a migration): they cannot be deleted. */
export const BUILTIN_ROLES = ['admin', 'user'];

const roleSelect = {
  id: true,
  name: true,
  description: true,
  createdAt: true,
  permissions: { select: { permission: { select: { name: true } } } },
  _count: { select: { users: true } },
} satisfies Prisma.RoleSelect;

type RoleRow = Prisma.RoleGetPayload<{ select: typeof roleSelect }>;

export function roleView(r: RoleRow) {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    permissions: r.permissions.map((p) => p.permission.name).sort(),
    userCount: r._count.users,
    createdAt: r.createdAt,
  };
}

const notFound = (name: string) => new HttpError(404, 'not_found', `There is no role "${name}".`);

export async function listRoles(prisma: PrismaClient, opts: { after?: string; limit: number }) {
  return prisma.role.findMany({
    where: opts.after ? { name: { gt: opts.after } } : {},
    orderBy: { name: 'asc' },
    take: opts.limit + 1,
    select: roleSelect,
  });
}

export async function getRole(prisma: PrismaClient, name: string) {
  const role = await prisma.role.findUnique({ where: { name }, select: roleSelect });
  if (!role) throw notFound(name);
  return roleView(role);
}

/** Permission rows for names that must all exist (422 naming the unknown ones otherwise). */
export async function permissionsNamed(tx: Prisma.TransactionClient, names: string[]) {
  const rows = await tx.permission.findMany({ where: { name: { in: names } } });
  const unknown = names.filter((n) => !rows.some((r) => r.name === n));
  if (unknown.length) throw new HttpError(422, 'unknown_permission', `Unknown permission: ${unknown.join(', ')}.`);
  return rows;
}

export async function createRole(
  prisma: PrismaClient,
  actor: Actor,
  input: { name: string; description?: string; permissions?: string[] },
) {
  const exists = await prisma.role.findUnique({ where: { name: input.name }, select: { id: true } });
  if (exists) throw new HttpError(409, 'conflict', `A role named "${input.name}" already exists.`);
  await prisma.$transaction(async (tx) => {
    const perms = await permissionsNamed(tx, input.permissions ?? []);
    await tx.role.create({
      data: { name: input.name, description: input.description, permissions: { create: perms.map((p) => ({ permissionId: p.id })) } },
    });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'role.create', details: { role: input.name, permissions: perms.map((p) => p.name) } });
  });
  return getRole(prisma, input.name);
}

export async function updateRole(prisma: PrismaClient, actor: Actor, name: string, input: { description?: string | null }) {
  await prisma.$transaction(async (tx) => {
    const role = await tx.role.findUnique({ where: { name } });
    if (!role) throw notFound(name);
    await tx.role.update({ where: { id: role.id }, data: { description: input.description } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'role.update', details: { role: name } });
  });
  return getRole(prisma, name);
}

export async function deleteRole(prisma: PrismaClient, actor: Actor, name: string): Promise<void> {
  if (BUILTIN_ROLES.includes(name)) throw new HttpError(409, 'role_builtin', `The role "${name}" is built in and cannot be deleted.`);
  await prisma.$transaction(async (tx) => {
    const role = await tx.role.findUnique({ where: { name } });
    if (!role) throw notFound(name);
    // Row lock: an assignment inserted concurrently (its foreign key locks the role row) either
    // commits before we count it or waits and then fails; the cascade never removes it silently.
    await tx.$queryRaw`SELECT id FROM roles WHERE id = ${role.id}::uuid FOR UPDATE`;
    const users = await tx.userRole.count({ where: { roleId: role.id } });
    if (users) {
      throw new HttpError(409, 'role_in_use', `The role "${name}" is assigned to ${users} user${users === 1 ? '' : 's'}; remove it from them first.`, { users });
    }
    await tx.role.delete({ where: { id: role.id } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'role.delete', details: { role: name } });
  });
}

export async function setRolePermission(prisma: PrismaClient, actor: Actor, name: string, permission: string, present: boolean) {
  await prisma.$transaction(async (tx) => {
    const role = await tx.role.findUnique({ where: { name } });
    if (!role) throw notFound(name);
    const perm = await tx.permission.findUnique({ where: { name: permission } });
    if (!perm) throw new HttpError(404, 'not_found', `There is no permission "${permission}".`);
    const key = { roleId_permissionId: { roleId: role.id, permissionId: perm.id } };
    const had = await tx.rolePermission.findUnique({ where: key });
    if (present === !!had) return; // idempotent: nothing changed, nothing recorded
    if (present) await tx.rolePermission.create({ data: { roleId: role.id, permissionId: perm.id } });
    else await tx.rolePermission.delete({ where: key });
    await recordAdminEvent(tx, actor, {
      userId: null,
      type: ACCESS_CONFIG_EVENT,
      action: present ? 'role.permission.add' : 'role.permission.remove',
      details: { role: name, permission },
    });
  });
  return getRole(prisma, name);
}

/** Gives or takes a role from a user; the user's next token reflects it. */
export async function setUserRole(prisma: PrismaClient, actor: Actor, userId: string, name: string, present: boolean): Promise<string[]> {
  return prisma.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw new HttpError(404, 'not_found', 'There is no such user.');
    const role = await tx.role.findUnique({ where: { name } });
    if (!role) throw (present ? new HttpError(422, 'unknown_role', `Unknown role: ${name}.`) : notFound(name));
    const key = { userId_roleId: { userId, roleId: role.id } };
    const had = await tx.userRole.findUnique({ where: key });
    if (present !== !!had) {
      if (present) await tx.userRole.create({ data: { userId, roleId: role.id } });
      else await tx.userRole.delete({ where: key });
      await recordAdminEvent(tx, actor, { userId, type: 'roles_changed', action: present ? 'user.role.add' : 'user.role.remove', details: { role: name } });
    }
    const rows = await tx.userRole.findMany({ where: { userId }, select: { role: { select: { name: true } } } });
    return rows.map((r) => r.role.name).sort();
  });
}
