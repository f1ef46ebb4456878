// Roles and permissions as tokens carry them. Read at every token issuance (no cache), so a change
// of a user's roles takes effect at the next token.
import type { PrismaClient } from '../generated/prisma/client.ts';

export const ROLE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// A permission is also an OAuth scope token (RFC 6749 3.3) of the resource server that checks it:
// `read:user`, `write:post`, `admin:users:read`.
export const PERMISSION_NAME = /^[a-z0-9][a-z0-9_.-]*(:[a-z0-9_.*-]+)*$/i;

export async function rolesAndPermissions(prisma: PrismaClient, userId: string): Promise<{ roles: string[]; permissions: string[] }> {
  const rows = await prisma.userRole.findMany({
    where: { userId },
    select: { role: { select: { name: true, permissions: { select: { permission: { select: { name: true } } } } } } },
  });
  const roles = rows.map((r) => r.role.name).sort();
  const permissions = [...new Set(rows.flatMap((r) => r.role.permissions.map((p) => p.permission.name)))].sort();
  return { roles, permissions };
}

export async function roleNames(prisma: PrismaClient, userId: string): Promise<string[]> {
  const rows = await prisma.userRole.findMany({ where: { userId }, select: { role: { select: { name: true } } } });
  return rows.map((r) => r.role.name).sort();
}

/**
 * Claims of a user's JWT access token for a resource server: the user's roles, and the user's
 * permissions intersected with the scopes granted for that resource, so a service can check
 * `write:post` without calling us and a client never gets more than it asked for.
 */
export async function accessTokenRbacClaims(prisma: PrismaClient, userId: string, grantedScope: string) {
  const { roles, permissions } = await rolesAndPermissions(prisma, userId);
  const granted = new Set(grantedScope.split(' ').filter(Boolean));
  return { roles, permissions: permissions.filter((p) => granted.has(p)) };
}
