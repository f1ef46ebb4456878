// Passkeys during sign-in: as the second factor after a password, or alone (passwordless) when
// the authenticator verified the user (PIN or biometrics), which makes it multi-factor by itself.
import type { Context } from 'koa';
import { HttpError } from '../errors.ts';
import { recordEvent, recordLoginAttempt } from '../services/audit.ts';
import { authenticationOptions, finishAuthentication, PasskeyError } from '../services/passkeys.ts';
import { RateLimitedError, retryMessage } from '../services/rate-limit.ts';
import { findUserById } from '../services/users.ts';
import { completeLogin } from './complete.ts';
import { requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { getPending } from './email-check.ts';
import { formBody } from './form-fields.ts';
import { showLogin } from './login.ts';
import { showMfa } from './second-factor.ts';

export async function passkeyOptions(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const pending = await getPending(deps, details.uid);
  if (pending && pending.stage !== 'mfa') throw new HttpError(400, 'wrong_step', 'This sign-in is waiting for something else.');
  const userId = pending?.accountId ?? undefined;
  ctx.body = await authenticationOptions(deps.prisma, deps.store, deps.config, details.uid, userId);
}

export async function passkeyVerify(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const pending = await getPending(deps, details.uid);
  const secondFactor = pending?.stage === 'mfa';
  const again = (error: string, status: number) =>
    secondFactor ? showMfa(ctx, deps, details, { error }, status) : showLogin(ctx, deps, details, { error }, status);
  const raw = formBody(ctx).response;
  let response: unknown;
  try {
    response = typeof raw === 'string' && raw.length <= 16_384 ? JSON.parse(raw) : undefined;
  } catch {
    response = undefined;
  }
  if (!response || typeof response !== 'object') return again('The passkey answer was malformed. Try again.', 400);
  const info = requestInfo(ctx, deps.config);
  const limitKey = pending?.accountId ?? `ip:${info.ipHash}`;
  try {
    await deps.actionLimiter.consume('mfa_code', limitKey);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return again(retryMessage(err), 429);
  }
  let result;
  try {
    result = await finishAuthentication(deps.prisma, deps.store, deps.config, details.uid, response, secondFactor ? pending!.accountId! : undefined);
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    await recordLoginAttempt(deps.prisma, { userId: pending?.accountId ?? null, successful: false, reason: 'bad_passkey', ...info });
    return again(err.message, 401);
  }
  const user = await findUserById(deps.prisma, result.userId);
  if (!user || user.status !== 'active') return again('This account cannot sign in. Contact your administrator.', 403);
  if (!secondFactor && !result.userVerified) {
    return again('To sign in with a passkey alone, your device must verify you (PIN, fingerprint or face). Sign in with your password instead.', 401);
  }
  await deps.actionLimiter.reset('mfa_code', limitKey);
  await recordEvent(deps.prisma, { userId: user.id, type: 'mfa_used', metadata: { method: 'webauthn', passwordless: !secondFactor } });
  const amr = secondFactor ? [...pending!.amr, result.amr, 'mfa'] : [result.amr, 'mfa'];
  await completeLogin(ctx, deps, details, user, amr, {}, { remember: formBody(ctx).remember === 'on' });
}
