// Password hashing. New hashes are argon2id (OWASP parameters: m=19 MiB, t=2, p=1); bcrypt hashes
// imported from other systems verify and are upgraded to argon2id at the next successful login.
import argon2 from 'argon2';
import bcrypt from '@node-rs/bcrypt';

const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

export type VerifyResult = { ok: boolean; needsRehash: boolean };

export async function verifyPassword(hash: string, password: string): Promise<VerifyResult> {
  try {
    if (hash.startsWith('$argon2')) {
      const ok = await argon2.verify(hash, password);
      return { ok, needsRehash: ok && argon2.needsRehash(hash, ARGON2_OPTIONS) };
    }
    if (/^\$2[aby]\$\d\d\$/.test(hash)) {
      const ok = await bcrypt.verify(password, hash);
      return { ok, needsRehash: ok };
    }
  } catch {
    // A malformed stored hash is a failed verification, never a crash.
  }
  return { ok: false, needsRehash: false };
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same work as a real verification, so "unknown user" and "wrong password" take about
 * the same time and cannot be told apart by timing.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('dummy-password-for-timing-equalisation');
  await argon2.verify(await dummyHash, password).catch(() => false);
}
