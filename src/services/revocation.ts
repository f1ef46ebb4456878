// Ending a user's access: browser sessions, grants, and every token issued under those grants in
// both stores (refresh tokens in the database, opaque access tokens and codes in Redis or memory).
// JWT access tokens for resource servers are self-contained and expire on their own (15 minutes by
// default); refreshing them fails from this moment.
import type { PrismaClient } from '../generated/prisma/client.ts';
import { sha256Hex } from './crypto.ts';

/** Revokes one grant everywhere (the adapter factory's revokeByGrantId). */
export type RevokeGrant = (grantId: string) => Promise<void>;

export async function revokeUserAccess(
  prisma: PrismaClient,
  revokeGrant: RevokeGrant,
  userId: string,
  opts: { keepSessionId?: string; keepGrantIds?: string[] } = {},
): Promise<{ sessions: number; grants: number }> {
  const keep = new Set(opts.keepGrantIds ?? []);
  const grants = (await prisma.grant.findMany({ where: { userId }, select: { id: true } })).filter((g) => !keep.has(g.id));
  for (const g of grants) await revokeGrant(g.id);
  // Refresh tokens whose grant row is already gone (expired) would still be refused; delete them anyway.
  await prisma.refreshToken.deleteMany({ where: { userId, ...(keep.size ? { grantId: { notIn: [...keep] } } : {}) } });
  const sessions = await prisma.session.deleteMany({
    where: { userId, ...(opts.keepSessionId ? { id: { not: sha256Hex(opts.keepSessionId) } } : {}) },
  });
  return { sessions: sessions.count, grants: grants.length };
}
