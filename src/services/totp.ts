// TOTP (RFC 6238) with otplib: 30-second steps, 6 digits, SHA-1 (what authenticator apps expect).
// The seed is AES-256-GCM encrypted at rest. A code is accepted once: the matched time step is
// stored with a conditional UPDATE, so a replay (even a concurrent one) is refused.
import { generateSecret, generateURI, verify } from 'otplib';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { decrypt, encrypt } from './crypto.ts';

const AAD = 'totp-seed';
// One step either side: tolerates 30 s of clock drift on the phone.
const TOLERANCE_SECONDS = 30;

export const CODE = /^\d{6}$/;

export async function startTotpEnrollment(prisma: PrismaClient, encKey: Buffer, userId: string, opts: { issuer: string; label: string }) {
  const secret = generateSecret();
  // An abandoned enrollment is replaced, never left to accumulate.
  await prisma.twoFactorMethod.deleteMany({ where: { userId, type: 'totp', verified: false } });
  const method = await prisma.twoFactorMethod.create({
    data: { userId, type: 'totp', name: 'Authenticator app', secretEnc: encrypt(encKey, secret, `${AAD}:${userId}`) },
  });
  return { methodId: method.id, secret, uri: generateURI({ issuer: opts.issuer, label: opts.label, secret }) };
}

/** Checks a code against one method and consumes its time step. */
async function checkMethod(prisma: PrismaClient, encKey: Buffer, method: { id: string; userId: string; secretEnc: string | null; lastUsedStep: bigint | null }, code: string): Promise<boolean> {
  if (!method.secretEnc) return false;
  const secret = decrypt(encKey, method.secretEnc, `${AAD}:${method.userId}`);
  const result = await verify({ secret, token: code, epochTolerance: TOLERANCE_SECONDS });
  if (!result.valid) return false;
  // The functional API's result type also covers HOTP; for TOTP it carries the matched step.
  const matched = (result as { timeStep?: number }).timeStep ?? Math.floor(Date.now() / 30_000) + result.delta;
  const step = BigInt(matched);
  const claimed = await prisma.twoFactorMethod.updateMany({
    where: { id: method.id, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
    data: { lastUsedStep: step },
  });
  return claimed.count === 1;
}

/** Activates a pending enrollment when the code is right. */
export async function confirmTotpEnrollment(prisma: PrismaClient, encKey: Buffer, userId: string, code: string): Promise<boolean> {
  if (!CODE.test(code)) return false;
  const pending = await prisma.twoFactorMethod.findFirst({ where: { userId, type: 'totp', verified: false }, orderBy: { createdAt: 'desc' } });
  if (!pending || !(await checkMethod(prisma, encKey, pending, code))) return false;
  await prisma.$transaction([
    // One authenticator app per account: a new one replaces the old.
    prisma.twoFactorMethod.deleteMany({ where: { userId, type: 'totp', verified: true } }),
    prisma.twoFactorMethod.update({ where: { id: pending.id }, data: { verified: true } }),
  ]);
  return true;
}

/** A code from the user's active authenticator app, accepted once. */
export async function verifyTotp(prisma: PrismaClient, encKey: Buffer, userId: string, code: string): Promise<boolean> {
  if (!CODE.test(code)) return false;
  const methods = await prisma.twoFactorMethod.findMany({ where: { userId, type: 'totp', verified: true } });
  for (const m of methods) if (await checkMethod(prisma, encKey, m, code)) return true;
  return false;
}
