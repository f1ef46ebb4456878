// Email verification and password reset tokens: 256 random bits, only their SHA-256 stored, single
// use, short-lived. Consuming is one conditional UPDATE, so two concurrent uses cannot both win.
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { RequestInfo } from './audit.ts';
import { randomToken, sha256Hex } from './crypto.ts';

export const VERIFICATION_TTL_SECONDS = 24 * 3600;
export const RESET_TTL_SECONDS = 3600;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

type Tx = Pick<PrismaClient, 'emailVerificationToken' | 'passwordResetToken'>;

/** Issues a verification token for `email` (the current address, or the new one during a change). */
export async function issueVerificationToken(prisma: Tx, userId: string, email: string, info: RequestInfo = {}): Promise<string> {
  const token = randomToken(32);
  // A new link invalidates the older ones: only the latest mail works.
  await prisma.emailVerificationToken.deleteMany({ where: { userId, usedAt: null } });
  await prisma.emailVerificationToken.create({
    data: {
      userId,
      email,
      tokenHash: sha256Hex(token),
      expiresAt: new Date(Date.now() + VERIFICATION_TTL_SECONDS * 1000),
      ipHash: info.ipHash,
      userAgent: info.userAgent?.slice(0, 512),
    },
  });
  return token;
}

export async function issueResetToken(prisma: Tx, userId: string, info: RequestInfo = {}): Promise<string> {
  const token = randomToken(32);
  await prisma.passwordResetToken.deleteMany({ where: { userId, usedAt: null } });
  await prisma.passwordResetToken.create({
    data: {
      userId,
      tokenHash: sha256Hex(token),
      expiresAt: new Date(Date.now() + RESET_TTL_SECONDS * 1000),
      ipHash: info.ipHash,
      userAgent: info.userAgent?.slice(0, 512),
    },
  });
  return token;
}

/** A usable (unexpired, unused) verification token, without using it up. */
export async function findVerificationToken(prisma: Tx, token: unknown) {
  if (typeof token !== 'string' || !TOKEN.test(token)) return null;
  return prisma.emailVerificationToken.findFirst({ where: { tokenHash: sha256Hex(token), usedAt: null, expiresAt: { gt: new Date() } } });
}

export async function findResetToken(prisma: Tx, token: unknown) {
  if (typeof token !== 'string' || !TOKEN.test(token)) return null;
  return prisma.passwordResetToken.findFirst({ where: { tokenHash: sha256Hex(token), usedAt: null, expiresAt: { gt: new Date() } } });
}

/** Marks the token used; false when another request used it first (or it expired meanwhile). */
export async function useVerificationToken(prisma: Tx, id: string): Promise<boolean> {
  const r = await prisma.emailVerificationToken.updateMany({ where: { id, usedAt: null, expiresAt: { gt: new Date() } }, data: { usedAt: new Date() } });
  return r.count === 1;
}

export async function useResetToken(prisma: Tx, id: string): Promise<boolean> {
  const r = await prisma.passwordResetToken.updateMany({ where: { id, usedAt: null, expiresAt: { gt: new Date() } }, data: { usedAt: new Date() } });
  return r.count === 1;
}
