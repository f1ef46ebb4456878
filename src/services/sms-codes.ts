// One-time codes sent by SMS: 6 digits, valid 5 minutes, stored only as a keyed hash in the
// short-lived store, deleted when used. Sending is rate limited by the caller.
import { randomInt } from 'node:crypto';
import { hmacHex, safeEqual } from './crypto.ts';
import type { ShortStore } from './short-store.ts';

export const SMS_CODE_TTL_SECONDS = 5 * 60;

interface Stored {
  hash: string;
  phone: string;
}

const key = (purpose: string) => `smscode:${purpose}`;

export async function issueSmsCode(store: ShortStore, hmacKey: Buffer, purpose: string, phone: string): Promise<string> {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  await store.set(key(purpose), { hash: hmacHex(hmacKey, `sms:${purpose}:${code}`), phone } satisfies Stored, SMS_CODE_TTL_SECONDS);
  return code;
}

export async function pendingSmsCode(store: ShortStore, purpose: string): Promise<{ phone: string } | undefined> {
  const s = await store.get<Stored>(key(purpose));
  return s ? { phone: s.phone } : undefined;
}

/** True once for the right code; the code is deleted when it matches. */
export async function useSmsCode(store: ShortStore, hmacKey: Buffer, purpose: string, code: string): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  const s = await store.get<Stored>(key(purpose));
  if (!s || !safeEqual(s.hash, hmacHex(hmacKey, `sms:${purpose}:${code}`))) return false;
  await store.del(key(purpose));
  return true;
}
