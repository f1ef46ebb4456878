// Audit trail: LoginAttempt for every sign-in attempt, AccountEvent for security-relevant changes.
// Metadata never carries personal data: no emails, names or raw IP addresses.
import type { AccountEventType, PrismaClient } from '../generated/prisma/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';

export interface RequestInfo {
  ipHash?: string;
  userAgent?: string;
}

export async function recordLoginAttempt(
  prisma: PrismaClient,
  attempt: { userId: string | null; successful: boolean; reason: string } & RequestInfo,
): Promise<void> {
  await prisma.loginAttempt.create({
    data: {
      userId: attempt.userId,
      successful: attempt.successful,
      reason: attempt.reason,
      ipHash: attempt.ipHash,
      userAgent: attempt.userAgent?.slice(0, 512),
    },
  });
}

export async function recordEvent(
  prisma: PrismaClient,
  event: { userId: string | null; type: AccountEventType; metadata?: Prisma.InputJsonObject; sessionId?: string },
): Promise<void> {
  await prisma.accountEvent.create({
    data: { userId: event.userId, type: event.type, metadata: event.metadata ?? {}, sessionId: event.sessionId },
  });
}
