// At most N concurrent browser sessions per user: a new sign-in ends the least recently active
// ones beyond N-1 (the new session is the N-th). The browser signing in keeps its own session.
import type { PrismaClient } from '../generated/prisma/client.ts';

export async function enforceSessionLimit(prisma: PrismaClient, userId: string, max: number, currentUid?: string): Promise<number> {
  const sessions = await prisma.session.findMany({
    where: { userId, expiresAt: { gt: new Date() }, ...(currentUid ? { uid: { not: currentUid } } : {}) },
    orderBy: [{ lastActiveAt: 'desc' }, { createdAt: 'desc' }],
    select: { id: true },
  });
  const excess = sessions.slice(Math.max(0, max - 1));
  if (!excess.length) return 0;
  const r = await prisma.session.deleteMany({ where: { id: { in: excess.map((s) => s.id) } } });
  return r.count;
}
