// The second-factor step of a sign-in: a code from the authenticator app or a backup code. Wrong
// codes count against a per-account limit like passwords; a backup code works once and its use is
// mailed to the owner.
import type { Context } from 'koa';
import { recordEvent, recordLoginAttempt } from '../services/audit.ts';
import { remainingBackupCodes, useBackupCode } from '../services/backup-codes.ts';
import { RateLimitedError, retryMessage } from '../services/rate-limit.ts';
import { issueSmsCode, useSmsCode } from '../services/sms-codes.ts';
import { maskPhone, SmsSendError } from '../services/sms.ts';
import { verifyTotp } from '../services/totp.ts';
import { findUserById } from '../services/users.ts';
import { renderInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { completeLogin } from './complete.ts';
import { getPending, setPending, type PendingLogin } from './email-check.ts';
import { showLogin } from './login.ts';
import { formBody, textField } from './form-fields.ts';

export async function hasSecondFactor(deps: InteractionDeps, userId: string): Promise<boolean> {
  return (await deps.prisma.twoFactorMethod.count({ where: { userId, verified: true } })) > 0;
}

async function smsMethod(deps: InteractionDeps, userId: string | null | undefined) {
  if (!userId) return null;
  return deps.prisma.twoFactorMethod.findFirst({ where: { userId, type: 'sms', verified: true }, select: { phone: true } });
}

export async function showMfa(ctx: Context, deps: InteractionDeps, details: InteractionDetails, extra: Record<string, unknown> = {}, status = 200) {
  const pending = await getPending(deps, details.uid);
  const sms = await smsMethod(deps, pending?.accountId);
  renderInteraction(ctx, deps, details, 'mfa', { smsPhone: sms?.phone ? maskPhone(sms.phone) : undefined, ...extra }, status);
}

/** Texts a sign-in code to the user's verified phone (rate limited per user). */
export async function sendLoginSms(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingLogin) {
  const method = await smsMethod(deps, pending.accountId);
  if (!method?.phone || !pending.accountId) return showMfa(ctx, deps, details, { error: 'There is no phone number for text messages on this account.' }, 400);
  try {
    await deps.actionLimiter.consume('sms_send', pending.accountId);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return showMfa(ctx, deps, details, { error: retryMessage(err) }, 429);
  }
  const code = await issueSmsCode(deps.store, deps.config.hmacKey, `login:${details.uid}`, method.phone);
  try {
    await deps.sms.send(method.phone, `${code} is your ${deps.config.productName} sign-in code. It expires in 5 minutes.`);
  } catch (err) {
    if (!(err instanceof SmsSendError)) throw err;
    deps.logger.warn({ err: err.message }, 'sending a sign-in SMS failed');
    return showMfa(ctx, deps, details, { error: 'We could not send the text message right now. Use your authenticator app or a backup code, or try again later.' }, 502);
  }
  await showMfa(ctx, deps, details, { notice: `We sent a code to ${maskPhone(method.phone)}. It expires in 5 minutes.` });
}

/** The relying party demands a second factor and the user has none set up. */
export function showMfaUnavailable(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  renderInteraction(ctx, deps, details, 'mfa-unavailable', {}, 403);
}

export async function submitMfa(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingLogin) {
  const user = pending.accountId ? await findUserById(deps.prisma, pending.accountId) : null;
  if (!user || user.status !== 'active') return showMfa(ctx, deps, details, { error: 'This account cannot sign in. Contact your administrator.' }, 403);
  const errors: Record<string, string> = {};
  const code = textField(formBody(ctx), 'code', errors, { max: 32, required: true, label: 'code' }).replace(/\s/g, '');
  if (errors.code) return showMfa(ctx, deps, details, { error: errors.code }, 400);
  const info = requestInfo(ctx, deps.config);
  try {
    await deps.actionLimiter.consume('mfa_code', user.id);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    await recordEvent(deps.prisma, { userId: user.id, type: 'login_locked', metadata: { scope: 'mfa_code' } });
    return showMfa(ctx, deps, details, { error: retryMessage(err) }, 429);
  }
  const isSms = /^\d{6}$/.test(code) && (await useSmsCode(deps.store, deps.config.hmacKey, `login:${details.uid}`, code));
  const isTotp = !isSms && /^\d{6}$/.test(code);
  const ok = isSms || (isTotp
    ? await verifyTotp(deps.prisma, deps.config.encryptionKey, user.id, code)
    : await useBackupCode(deps.prisma, deps.config.hmacKey, user.id, code));
  if (!ok) {
    await recordLoginAttempt(deps.prisma, { userId: user.id, successful: false, reason: isTotp ? 'bad_totp' : 'bad_backup_code', ...info });
    await recordEvent(deps.prisma, { userId: user.id, type: 'login_failed', metadata: { reason: isTotp ? 'bad_totp' : 'bad_backup_code' } });
    return showMfa(ctx, deps, details, { error: 'That code is not valid. Codes from the app change every 30 seconds and work once.' }, 401);
  }
  await deps.actionLimiter.reset('mfa_code', user.id);
  await recordEvent(deps.prisma, { userId: user.id, type: 'mfa_used', metadata: { method: isSms ? 'sms' : isTotp ? 'totp' : 'backup_code' } });
  if (!isTotp && !isSms) {
    const left = await remainingBackupCodes(deps.prisma, user.id);
    await recordEvent(deps.prisma, { userId: user.id, type: 'backup_code_used', metadata: { remaining: left } });
    deps.mailer.sendInBackground('backup-code-used', user.email, { remaining: left, link: `${deps.config.issuer}/account/security` });
  }
  await completeLogin(ctx, deps, details, user, [...pending.amr, isSms ? 'sms' : 'otp', 'mfa'], {}, { remember: formBody(ctx).remember === 'on' });
}

/**
 * Step-up: the browser has a password-only session and the relying party now asks for a second
 * factor. The user is known; only the second factor is asked for.
 */
export async function startStepUp(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const user = await findUserById(deps.prisma, details.session!.accountId);
  if (!user || user.status !== 'active') return showLogin(ctx, deps, details);
  if (!(await hasSecondFactor(deps, user.id))) return showMfaUnavailable(ctx, deps, details);
  await setPending(deps, details.uid, { accountId: user.id, email: user.email, amr: ['pwd'], stage: 'mfa' });
  await recordEvent(deps.prisma, { userId: user.id, type: 'step_up', metadata: { clientId: String(details.params.client_id ?? '') } });
  await showMfa(ctx, deps, details);
}
