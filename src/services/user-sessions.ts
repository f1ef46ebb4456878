// A user's browser sessions and audit trail as an operator sees them, and ending sessions.
// Sessions are named by the provider's session `uid`, never by the id hash that keys the row.
import type { PrismaClient, UserStatus } from '../generated/prisma/client.ts';
import { HttpError } from '../errors.ts';
import { recordAdminEvent, type Actor } from './admin-audit.ts';
import { setUserStatus } from './account-status.ts';
import { revokeUserAccess, type RevokeGrant } from './revocation.ts';
import { userNotFound } from './user-admin.ts';

async function assertUser(prisma: PrismaClient, id: string) {
  const u = await prisma.user.findUnique({ where: { id }, select: { id: true } });
  if (!u) throw userNotFound();
}

export async function listSessions(prisma: PrismaClient, userId: string) {
  await assertUser(prisma, userId);
  const rows = await prisma.session.findMany({
    where: { userId, expiresAt: { gt: new Date() } },
    orderBy: { lastActiveAt: 'desc' },
    take: 1000,
    select: { uid: true, createdAt: true, lastActiveAt: true, expiresAt: true, browser: true, os: true, verificationStatus: true, payload: true },
  });
  return rows.map(({ payload, ...s }) => ({ ...s, clients: Object.keys((payload as { authorizations?: object }).authorizations ?? {}).sort() }));
}

/** Ends one session: its row and the grants (with their tokens) it authorized. */
export async function revokeSession(prisma: PrismaClient, revokeGrant: RevokeGrant, actor: Actor, userId: string, uid: string) {
  const row = await prisma.session.findFirst({ where: { uid, userId }, select: { id: true, payload: true } });
  if (!row) throw new HttpError(404, 'not_found', 'There is no such session for this user.');
  const auths = (row.payload as { authorizations?: Record<string, { grantId?: string }> }).authorizations ?? {};
  for (const a of Object.values(auths)) if (a.grantId) await revokeGrant(a.grantId);
  await prisma.$transaction(async (tx) => {
    await tx.session.deleteMany({ where: { id: row.id } });
    await recordAdminEvent(tx, actor, { userId, type: 'session_revoked', action: 'user.session.revoke', details: { sessionUid: uid } });
  });
}

export async function revokeAllSessions(prisma: PrismaClient, revokeGrant: RevokeGrant, actor: Actor, userId: string) {
  await assertUser(prisma, userId);
  const r = await revokeUserAccess(prisma, revokeGrant, userId);
  await recordAdminEvent(prisma, actor, { userId, type: 'session_revoked', action: 'user.session.revoke_all', details: r });
  return r;
}

/** Suspending or disabling ends every session and revokes grants and refresh tokens at once. */
export async function changeStatus(prisma: PrismaClient, revokeGrant: RevokeGrant, actor: Actor, userId: string, status: UserStatus) {
  await assertUser(prisma, userId);
  const r = await setUserStatus(prisma, revokeGrant, userId, status, { action: `user.status.${status}`, actorType: actor.type, actorId: actor.id });
  return { id: userId, status, ...r };
}

export async function listEvents(prisma: PrismaClient, userId: string, opts: { before?: [string, string]; limit: number }) {
  await assertUser(prisma, userId);
  const b = opts.before && { createdAt: new Date(opts.before[0]), id: opts.before[1] };
  return prisma.accountEvent.findMany({
    where: { userId, ...(b ? { OR: [{ createdAt: { lt: b.createdAt } }, { createdAt: b.createdAt, id: { lt: b.id } }] } : {}) },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: opts.limit + 1,
    select: { id: true, type: true, metadata: true, createdAt: true },
  });
}
