// Permissions (`read:user`, `write:post`): named capabilities that roles group and tokens carry.
import type { PrismaClient } from '../generated/prisma/client.ts';
import { HttpError } from '../errors.ts';
import { ACCESS_CONFIG_EVENT, recordAdminEvent, type Actor } from './admin-audit.ts';
import { ADMIN_PERMISSIONS } from './admin-resource.ts';

const select = { id: true, name: true, description: true, createdAt: true, roles: { select: { role: { select: { name: true } } } } } as const;

type Row = { id: string; name: string; description: string | null; createdAt: Date; roles: { role: { name: string } }[] };

export function permissionView(p: Row) {
  return { id: p.id, name: p.name, description: p.description, roles: p.roles.map((r) => r.role.name).sort(), createdAt: p.createdAt };
}

const notFound = (name: string) => new HttpError(404, 'not_found', `There is no permission "${name}".`);

export async function listPermissions(prisma: PrismaClient, opts: { after?: string; limit: number }) {
  return prisma.permission.findMany({ where: opts.after ? { name: { gt: opts.after } } : {}, orderBy: { name: 'asc' }, take: opts.limit + 1, select });
}

export async function getPermission(prisma: PrismaClient, name: string) {
  const row = await prisma.permission.findUnique({ where: { name }, select });
  if (!row) throw notFound(name);
  return permissionView(row);
}

export async function createPermission(prisma: PrismaClient, actor: Actor, input: { name: string; description?: string }) {
  const exists = await prisma.permission.findUnique({ where: { name: input.name }, select: { id: true } });
  if (exists) throw new HttpError(409, 'conflict', `A permission named "${input.name}" already exists.`);
  await prisma.$transaction(async (tx) => {
    await tx.permission.create({ data: { name: input.name, description: input.description } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'permission.create', details: { permission: input.name } });
  });
  return getPermission(prisma, input.name);
}

export async function updatePermission(prisma: PrismaClient, actor: Actor, name: string, input: { description?: string | null }) {
  await prisma.$transaction(async (tx) => {
    const row = await tx.permission.findUnique({ where: { name } });
    if (!row) throw notFound(name);
    await tx.permission.update({ where: { id: row.id }, data: { description: input.description } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'permission.update', details: { permission: name } });
  });
  return getPermission(prisma, name);
}

export async function deletePermission(prisma: PrismaClient, actor: Actor, name: string): Promise<void> {
  if ((ADMIN_PERMISSIONS as readonly string[]).includes(name)) {
    throw new HttpError(409, 'permission_builtin', `The permission "${name}" belongs to the admin API and cannot be deleted.`);
  }
  await prisma.$transaction(async (tx) => {
    const row = await tx.permission.findUnique({ where: { name } });
    if (!row) throw notFound(name);
    await tx.$queryRaw`SELECT id FROM permissions WHERE id = ${row.id}::uuid FOR UPDATE`;
    const roles = await tx.rolePermission.findMany({ where: { permissionId: row.id }, select: { role: { select: { name: true } } } });
    if (roles.length) {
      const names = roles.map((r) => r.role.name).sort();
      throw new HttpError(409, 'permission_in_use', `The permission "${name}" is granted to the role(s) ${names.join(', ')}; remove it from them first.`, { roles: names });
    }
    await tx.permission.delete({ where: { id: row.id } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'permission.delete', details: { permission: name } });
  });
}
