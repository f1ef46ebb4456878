// Device sessions: what we know about the browser a session lives in, and how much we trust it.
// The trust score (0–100) adds up signals we can explain to a user:
//   +40 a remembered-device cookie for this user (set when they tick "remember this device")
//   +10 ...that cookie is older than 7 days (the device has a history with us)
//   +40 the network (keyed hash of the IP) saw a successful sign-in of this user before
//   +30 a second factor was completed in this sign-in
// With the default threshold of 40, either a remembered device or a known network is enough; a
// sign-in with neither is stepped up (second factor if enrolled, else a code by email).
import type { Context } from 'koa';
import { UAParser } from 'ua-parser-js';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { hmacHex, randomToken } from './crypto.ts';

export const TRUST_THRESHOLD = 40;
export const REMEMBER_DAYS = 30;

export interface TrustSignals {
  rememberedDevice: boolean;
  deviceAgeDays: number;
  knownNetwork: boolean;
  secondFactor: boolean;
}

export function trustScore(s: TrustSignals): number {
  let score = 0;
  if (s.rememberedDevice) score += 40;
  if (s.rememberedDevice && s.deviceAgeDays >= 7) score += 10;
  if (s.knownNetwork) score += 40;
  if (s.secondFactor) score += 30;
  return Math.min(100, score);
}

export function describeDevice(userAgent: string | undefined): { browser?: string; os?: string } {
  if (!userAgent) return {};
  const r = UAParser(userAgent);
  const browser = [r.browser.name, r.browser.major].filter(Boolean).join(' ') || undefined;
  const os = [r.os.name, r.os.version].filter(Boolean).join(' ') || undefined;
  return { browser: browser?.slice(0, 64), os: os?.slice(0, 64) };
}

// One cookie per user, so a shared browser remembers each account separately; the name does not
// reveal the user id. Signed with the app's cookie keys, so it cannot be forged.
function cookieName(hmacKey: Buffer, userId: string): string {
  return `dev_${hmacHex(hmacKey, `device-cookie:${userId}`).slice(0, 16)}`;
}

export function rememberedDevice(ctx: Context, hmacKey: Buffer, userId: string): { ageDays: number } | undefined {
  const raw = ctx.cookies.get(cookieName(hmacKey, userId), { signed: true });
  const m = raw?.match(/^([A-Za-z0-9_-]{22})\.(\d{10})$/);
  if (!m) return undefined;
  const issued = Number(m[2]) * 1000;
  if (Date.now() - issued > REMEMBER_DAYS * 24 * 3600 * 1000) return undefined;
  return { ageDays: (Date.now() - issued) / (24 * 3600 * 1000) };
}

export function rememberDevice(ctx: Context, hmacKey: Buffer, userId: string, secure: boolean): void {
  const value = `${randomToken(16)}.${Math.floor(Date.now() / 1000)}`;
  ctx.cookies.set(cookieName(hmacKey, userId), value, {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    secure,
    maxAge: REMEMBER_DAYS * 24 * 3600 * 1000,
    path: '/',
    overwrite: true,
  });
}

export async function knownNetwork(prisma: PrismaClient, userId: string, ipHash: string): Promise<boolean> {
  return (await prisma.loginAttempt.count({ where: { userId, ipHash, successful: true } })) > 0;
}

/** What completeLogin learnt, attached to the session row once the provider has saved it. */
export interface DeviceRecord {
  trustScore: number;
  verification: 'unverified' | 'verified' | 'stepped_up';
}

export async function recordSessionDevice(
  prisma: PrismaClient,
  sessionUid: string,
  accountId: string,
  req: { userAgent?: string; ipHash: string },
  device: DeviceRecord,
): Promise<void> {
  await prisma.session.updateMany({
    where: { uid: sessionUid, userId: accountId },
    data: {
      userAgent: req.userAgent?.slice(0, 512),
      ...describeDevice(req.userAgent),
      ipHash: req.ipHash,
      lastActiveAt: new Date(),
      trustScore: device.trustScore,
      verificationStatus: device.verification,
    },
  });
}
