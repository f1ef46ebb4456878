// Step-up for a sign-in from a device we do not trust yet, for a user without a second factor:
// a 6-digit code mailed to the account's address (valid 10 minutes, stored as a keyed hash,
// wrong codes counted like second-factor codes).
import { randomInt } from 'node:crypto';
import type { Context } from 'koa';
import type { User } from '../generated/prisma/client.ts';
import { recordEvent, recordLoginAttempt } from '../services/audit.ts';
import { hmacHex, safeEqual } from '../services/crypto.ts';
import { RateLimitedError, retryMessage } from '../services/rate-limit.ts';
import { findUserById } from '../services/users.ts';
import { completeLogin } from './complete.ts';
import { renderInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { setPending, type PendingLogin } from './email-check.ts';
import { formBody, textField } from './form-fields.ts';

const CODE_TTL_MS = 10 * 60 * 1000;

export function showDeviceCode(ctx: Context, deps: InteractionDeps, details: InteractionDetails, extra: Record<string, unknown> = {}, status = 200) {
  renderInteraction(ctx, deps, details, 'device-code', extra, status);
}

export async function startDeviceCheck(ctx: Context, deps: InteractionDeps, details: InteractionDetails, user: User, amr: string[]) {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  await setPending(deps, details.uid, {
    accountId: user.id,
    email: user.email,
    amr,
    stage: 'device',
    codeHash: hmacHex(deps.config.hmacKey, `device-code:${details.uid}:${code}`),
    codeExpiresAt: Date.now() + CODE_TTL_MS,
  });
  deps.mailer.sendInBackground('sign-in-code', user.email, { code });
  await recordEvent(deps.prisma, { userId: user.id, type: 'step_up', metadata: { method: 'email_code' } });
  showDeviceCode(ctx, deps, details);
}

export async function submitDeviceCode(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingLogin) {
  const user = pending.accountId ? await findUserById(deps.prisma, pending.accountId) : null;
  if (!user || user.status !== 'active') return showDeviceCode(ctx, deps, details, { error: 'This account cannot sign in. Contact your administrator.' }, 403);
  const body = formBody(ctx);
  const errors: Record<string, string> = {};
  const code = textField(body, 'code', errors, { max: 12, required: true, label: 'code' }).replace(/\s/g, '');
  if (errors.code) return showDeviceCode(ctx, deps, details, { error: errors.code }, 400);
  try {
    await deps.actionLimiter.consume('mfa_code', user.id);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return showDeviceCode(ctx, deps, details, { error: retryMessage(err) }, 429);
  }
  const expected = pending.codeHash ?? '';
  const ok = /^\d{6}$/.test(code) && (pending.codeExpiresAt ?? 0) > Date.now() && safeEqual(hmacHex(deps.config.hmacKey, `device-code:${details.uid}:${code}`), expected);
  if (!ok) {
    await recordLoginAttempt(deps.prisma, { userId: user.id, successful: false, reason: 'bad_device_code', ...requestInfo(ctx, deps.config) });
    return showDeviceCode(ctx, deps, details, { error: 'That code is not valid or has expired. Cancel and sign in again for a new one.' }, 401);
  }
  await deps.actionLimiter.reset('mfa_code', user.id);
  await completeLogin(ctx, deps, details, user, pending.amr, {}, { deviceVerified: true, remember: body.remember === 'on' });
}
