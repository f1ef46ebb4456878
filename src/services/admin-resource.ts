// The admin API is a resource server of our own: registered at every start (idempotently) with
// one scope per permission it checks. The permissions exist as Permission rows too, granted to the
// `admin` role when first created, so an administrator's user token carries them; an operator may
// later take some away from `admin` or give them to other roles, and a restart does not undo that.
import type { PrismaClient } from '../generated/prisma/client.ts';

export const ADMIN_PERMISSIONS = [
  'admin:users:read',
  'admin:users:write',
  'admin:roles:read',
  'admin:roles:write',
  'admin:clients:read',
  'admin:clients:write',
  'admin:resources:read',
  'admin:resources:write',
  'admin:keys:read',
  'admin:keys:write',
  'admin:federation:read',
  'admin:federation:write',
] as const;
export type AdminPermission = (typeof ADMIN_PERMISSIONS)[number];

export const ADMIN_SCOPE = ADMIN_PERMISSIONS.join(' ');

export async function ensureAdminResource(prisma: PrismaClient, audience: string): Promise<void> {
  const rs = await prisma.resourceServer.findUnique({ where: { identifier: audience } });
  // Writes only when something differs: every write notifies every node, which rebuilds its provider.
  if (!rs) {
    await prisma.resourceServer.create({ data: { identifier: audience, scope: ADMIN_SCOPE } }).catch((err) => {
      if ((err as { code?: string }).code !== 'P2002') throw err; // another instance won the race
    });
  } else if (rs.scope !== ADMIN_SCOPE) {
    await prisma.resourceServer.update({ where: { id: rs.id }, data: { scope: ADMIN_SCOPE } });
  }
  const existing = new Set((await prisma.permission.findMany({ where: { name: { in: [...ADMIN_PERMISSIONS] } } })).map((p) => p.name));
  const missing = ADMIN_PERMISSIONS.filter((p) => !existing.has(p));
  if (!missing.length) return;
  await prisma.$transaction(async (tx) => {
    await tx.permission.createMany({ data: missing.map((name) => ({ name, description: 'Admin API' })), skipDuplicates: true });
    const admin = await tx.role.findUnique({ where: { name: 'admin' } });
    if (!admin) return;
    const created = await tx.permission.findMany({ where: { name: { in: missing } } });
    await tx.rolePermission.createMany({ data: created.map((p) => ({ roleId: admin.id, permissionId: p.id })), skipDuplicates: true });
  });
}

export function isAdminResource(identifier: string, audience: string): boolean {
  return identifier === audience;
}
