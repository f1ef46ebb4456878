// Suspending or disabling a user ends their sessions and revokes their grants and refresh tokens
// at once; findAccount already refuses non-active users, so nothing can be refreshed afterwards.
import type { PrismaClient, UserStatus } from '../generated/prisma/client.ts';
import { recordEvent } from './audit.ts';
import { revokeUserAccess, type RevokeGrant } from './revocation.ts';

export async function setUserStatus(
  prisma: PrismaClient,
  revokeGrant: RevokeGrant,
  userId: string,
  status: UserStatus,
  actor: Record<string, string> = {},
): Promise<{ changed: boolean; sessions: number; grants: number }> {
  const before = await prisma.user.findUnique({ where: { id: userId }, select: { status: true } });
  if (!before) throw new Error('user not found');
  if (before.status !== status) {
    await prisma.user.update({ where: { id: userId }, data: { status } });
    await recordEvent(prisma, { userId, type: 'status_changed', metadata: { from: before.status, to: status, ...actor } });
  }
  // Revoke even when the status was already set: a retry after a failure halfway finishes the job.
  const revoked = status === 'active' ? { sessions: 0, grants: 0 } : await revokeUserAccess(prisma, revokeGrant, userId);
  return { changed: before.status !== status, ...revoked };
}
