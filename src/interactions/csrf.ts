// CSRF protection for the hosted forms: a random cookie and, in each form, an HMAC of it bound to
// the interaction. A cross-site page cannot read the cookie, so it cannot forge the field.
import type { Context } from 'koa';
import { hmacHex, randomToken, safeEqual } from '../services/crypto.ts';
import { HttpError } from '../errors.ts';

const COOKIE = 'csrf';

export function csrfToken(ctx: Context, key: Buffer, scope: string, secure: boolean): string {
  let seed = ctx.cookies.get(COOKIE);
  if (!seed || !/^[A-Za-z0-9_-]{43}$/.test(seed)) {
    seed = randomToken(32);
    ctx.cookies.set(COOKIE, seed, { httpOnly: true, sameSite: 'strict', secure, path: '/', overwrite: true });
  }
  return hmacHex(key, `${seed}:${scope}`);
}

export function verifyCsrf(ctx: Context, key: Buffer, scope: string, submitted: unknown): void {
  const seed = ctx.cookies.get(COOKIE);
  const ok = typeof submitted === 'string' && !!seed && safeEqual(hmacHex(key, `${seed}:${scope}`), submitted);
  if (!ok) throw new HttpError(403, 'csrf_failed', 'The form expired or was sent from another site. Go back and try again.');
}
