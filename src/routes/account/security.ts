// Second factors on the account page: set up an authenticator app (QR code and the key in text,
// active only after a correct code), backup codes (shown once, regenerable), and removal.
// Removing a factor or regenerating codes asks for the current password.
import type { Context } from 'koa';
import QRCode from 'qrcode';
import type { User } from '../../generated/prisma/client.ts';
import type { InteractionDeps } from '../../interactions/context.ts';
import { requestInfo } from '../../interactions/context.ts';
import { formBody, passwordField, textField } from '../../interactions/form-fields.ts';
import { recordEvent } from '../../services/audit.ts';
import { regenerateBackupCodes, remainingBackupCodes } from '../../services/backup-codes.ts';
import { verifyPassword } from '../../services/passwords.ts';
import { RateLimitedError, retryMessage } from '../../services/rate-limit.ts';
import { finishRegistration, PasskeyError, registrationOptions } from '../../services/passkeys.ts';
import { issueSmsCode, pendingSmsCode, useSmsCode } from '../../services/sms-codes.ts';
import { E164, maskPhone, SmsSendError } from '../../services/sms.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../../services/totp.ts';
import { checkCsrf, renderPage } from './page.ts';
import { signedInUser } from './session.ts';

async function show(ctx: Context, deps: InteractionDeps, user: User, data: Record<string, unknown> = {}, status = 200) {
  const totp = await deps.prisma.twoFactorMethod.findFirst({ where: { userId: user.id, type: 'totp', verified: true }, select: { createdAt: true } });
  const backupLeft = await remainingBackupCodes(deps.prisma, user.id);
  const sms = await deps.prisma.twoFactorMethod.findFirst({ where: { userId: user.id, type: 'sms', verified: true }, select: { phone: true } });
  const smsPhone = sms?.phone ? maskPhone(sms.phone) : undefined;
  const passkeys = await deps.prisma.twoFactorMethod.findMany({ where: { userId: user.id, type: 'webauthn', verified: true }, select: { id: true, name: true, createdAt: true }, orderBy: { createdAt: 'asc' } });
  renderPage(ctx, deps, 'security', `account:${user.id}`, { user, totp, smsPhone, passkeys, backupLeft, errors: {}, ...data }, status);
}

async function signedPost(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (!signed) return undefined;
  const body = formBody(ctx);
  checkCsrf(ctx, deps, `account:${signed.user.id}`, body);
  return { user: signed.user, body };
}

/** Removes the user's factors of one type; backup codes go with the last factor they stand in for. */
async function removeFactor(deps: InteractionDeps, userId: string, where: { type: 'totp' | 'sms' | 'webauthn'; id?: string }): Promise<number> {
  const removed = await deps.prisma.twoFactorMethod.deleteMany({ where: { userId, ...where } });
  if ((await deps.prisma.twoFactorMethod.count({ where: { userId, verified: true } })) === 0) {
    await deps.prisma.backupCode.deleteMany({ where: { userId } });
  }
  if (removed.count) await recordEvent(deps.prisma, { userId, type: 'mfa_removed', metadata: { method: where.type } });
  return removed.count;
}

/** The first factor brings the backup codes (shown once); later ones leave them as they are. */
async function backupCodesForFirstFactor(deps: InteractionDeps, userId: string): Promise<string[] | undefined> {
  return (await remainingBackupCodes(deps.prisma, userId)) === 0 ? regenerateBackupCodes(deps.prisma, deps.config.hmacKey, userId) : undefined;
}

export async function showSecurity(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (signed) await show(ctx, deps, signed.user);
}

export async function startTotp(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  const { secret, uri } = await startTotpEnrollment(deps.prisma, deps.config.encryptionKey, s.user.id, { issuer: deps.config.productName, label: s.user.email });
  const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 1, width: 220 });
  // The key is shown on this one page (no-store) and never again.
  renderPage(ctx, deps, 'totp-setup', `account:${s.user.id}`, { qr, secret: secret.replace(/(.{4})/g, '$1 ').trim(), errors: {} });
}

export async function confirmTotp(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  const errors: Record<string, string> = {};
  const code = textField(s.body, 'code', errors, { max: 12, required: true, label: 'code' }).replace(/\s/g, '');
  const again = async (message: string, status: number) => {
    const method = await deps.prisma.twoFactorMethod.findFirst({ where: { userId: s.user.id, type: 'totp', verified: false } });
    if (!method) return show(ctx, deps, s.user, { error: 'Start the setup again.' }, 400);
    renderPage(ctx, deps, 'totp-setup', `account:${s.user.id}`, { errors: { code: message }, pendingOnly: true }, status);
  };
  if (errors.code) return again(errors.code, 400);
  try {
    await deps.actionLimiter.consume('mfa_code', s.user.id);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    return again(retryMessage(err), 429);
  }
  if (!(await confirmTotpEnrollment(deps.prisma, deps.config.encryptionKey, s.user.id, code))) return again('That code is not valid. Enter the current code from the app.', 400);
  await deps.actionLimiter.reset('mfa_code', s.user.id);
  await recordEvent(deps.prisma, { userId: s.user.id, type: 'mfa_enrolled', metadata: { method: 'totp' } });
  // First factor set up: the backup codes come with it, shown once.
  const codes = await backupCodesForFirstFactor(deps, s.user.id);
  await show(ctx, deps, s.user, { notice: 'Your authenticator app is set up. You will be asked for a code when you sign in.', codes });
}

async function passwordOk(ctx: Context, deps: InteractionDeps, user: User, body: Record<string, unknown>): Promise<string | undefined> {
  const errors: Record<string, string> = {};
  const password = passwordField(body, 'password', errors, 'current password');
  if (errors.password) return errors.password;
  try {
    await deps.loginLimiter.consume(user.email, requestInfo(ctx, deps.config).ipHash);
  } catch (err) {
    if (err instanceof RateLimitedError) return retryMessage(err);
    throw err;
  }
  if (!user.passwordHash || !(await verifyPassword(user.passwordHash, password)).ok) return 'Your current password is not correct.';
  await deps.loginLimiter.reset(user.email);
  return undefined;
}

export async function newBackupCodes(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  const problem = await passwordOk(ctx, deps, s.user, s.body);
  if (problem) return show(ctx, deps, s.user, { errors: { backupPassword: problem } }, 400);
  const codes = await regenerateBackupCodes(deps.prisma, deps.config.hmacKey, s.user.id);
  await recordEvent(deps.prisma, { userId: s.user.id, type: 'mfa_enrolled', metadata: { method: 'backup_codes' } });
  await show(ctx, deps, s.user, { notice: 'New backup codes are ready; the old ones no longer work.', codes });
}

/** Removing a whole factor type: the current password first, then the factor (and backup codes if it was the last). */
function removeFactorHandler(type: 'totp' | 'sms', errorField: string, notice: string) {
  return async function remove(ctx: Context, deps: InteractionDeps) {
    const s = await signedPost(ctx, deps);
    if (!s) return;
    const problem = await passwordOk(ctx, deps, s.user, s.body);
    if (problem) return show(ctx, deps, s.user, { errors: { [errorField]: problem } }, 400);
    await removeFactor(deps, s.user.id, { type });
    await show(ctx, deps, s.user, { notice });
  };
}

export const removeTotp = removeFactorHandler('totp', 'removePassword', 'The authenticator app was removed from your account.');

export async function startSms(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  const errors: Record<string, string> = {};
  const phone = textField(s.body, 'phone', errors, { max: 24, required: true, label: 'phone number' }).replace(/[\s()-]/g, '');
  if (!errors.phone && !E164.test(phone)) errors.phone = 'Enter the number in international format, like +4915123456789.';
  if (errors.phone) return show(ctx, deps, s.user, { errors: { phone: errors.phone }, phone }, 400);
  try {
    await deps.actionLimiter.consume('sms_send', s.user.id);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    return show(ctx, deps, s.user, { errors: { phone: retryMessage(err) }, phone }, 429);
  }
  const code = await issueSmsCode(deps.store, deps.config.hmacKey, `enrol:${s.user.id}`, phone);
  try {
    await deps.sms.send(phone, `${code} is your ${deps.config.productName} code to confirm this phone number.`);
  } catch (err) {
    if (!(err instanceof SmsSendError)) throw err;
    deps.logger.warn({ err: err.message }, 'sending an enrolment SMS failed');
    return show(ctx, deps, s.user, { errors: { phone: 'We could not send a text message right now. Try again later.' }, phone }, 502);
  }
  renderPage(ctx, deps, 'sms-setup', `account:${s.user.id}`, { phone: maskPhone(phone), errors: {} });
}

export async function confirmSms(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  const errors: Record<string, string> = {};
  const code = textField(s.body, 'code', errors, { max: 12, required: true, label: 'code' }).replace(/\s/g, '');
  const purpose = `enrol:${s.user.id}`;
  const pending = await pendingSmsCode(deps.store, purpose);
  if (!pending) return show(ctx, deps, s.user, { error: 'The code expired. Enter your number again.' }, 400);
  const again = (message: string, status: number) => renderPage(ctx, deps, 'sms-setup', `account:${s.user.id}`, { phone: maskPhone(pending.phone), errors: { code: message } }, status);
  if (errors.code) return again(errors.code, 400);
  try {
    await deps.actionLimiter.consume('mfa_code', s.user.id);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    return again(retryMessage(err), 429);
  }
  if (!(await useSmsCode(deps.store, deps.config.hmacKey, purpose, code))) return again('That code is not valid.', 400);
  await deps.actionLimiter.reset('mfa_code', s.user.id);
  await deps.prisma.$transaction([
    deps.prisma.twoFactorMethod.deleteMany({ where: { userId: s.user.id, type: 'sms' } }),
    deps.prisma.twoFactorMethod.create({ data: { userId: s.user.id, type: 'sms', name: 'Text message', phone: pending.phone, verified: true } }),
  ]);
  await recordEvent(deps.prisma, { userId: s.user.id, type: 'mfa_enrolled', metadata: { method: 'sms' } });
  const codes = await backupCodesForFirstFactor(deps, s.user.id);
  await show(ctx, deps, s.user, { notice: 'Text messages are set up as a second factor.', codes });
}

export const removeSms = removeFactorHandler('sms', 'smsRemovePassword', 'Text messages were removed as a second factor.');

export async function passkeyRegistrationOptions(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  ctx.body = await registrationOptions(deps.prisma, deps.store, deps.config, s.user);
}

export async function registerPasskey(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  const errors: Record<string, string> = {};
  const name = textField(s.body, 'name', errors, { max: 60, label: 'passkey name' }) || 'Passkey';
  let response: unknown;
  try {
    response = typeof s.body.response === 'string' && s.body.response.length <= 16_384 ? JSON.parse(s.body.response) : undefined;
  } catch {
    response = undefined;
  }
  if (errors.name || !response || typeof response !== 'object') return show(ctx, deps, s.user, { errors: { passkey: errors.name ?? 'The passkey answer was malformed. Try again.' } }, 400);
  try {
    await finishRegistration(deps.prisma, deps.store, deps.config, s.user, name, response);
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    return show(ctx, deps, s.user, { errors: { passkey: err.message } }, 400);
  }
  await recordEvent(deps.prisma, { userId: s.user.id, type: 'mfa_enrolled', metadata: { method: 'webauthn' } });
  const codes = await backupCodesForFirstFactor(deps, s.user.id);
  await show(ctx, deps, s.user, { notice: `Passkey "${name}" added.`, codes });
}

export async function removePasskey(ctx: Context, deps: InteractionDeps) {
  const s = await signedPost(ctx, deps);
  if (!s) return;
  const id = typeof s.body.id === 'string' ? s.body.id : '';
  const problem = await passwordOk(ctx, deps, s.user, s.body);
  if (problem) return show(ctx, deps, s.user, { errors: { [`passkey-${id}`]: problem } }, 400);
  const removed = /^[0-9a-f-]{36}$/.test(id) ? await removeFactor(deps, s.user.id, { type: 'webauthn', id }) : 0;
  if (!removed) return show(ctx, deps, s.user, { error: 'That passkey does not exist.' }, 404);
  await show(ctx, deps, s.user, { notice: 'The passkey was removed.' });
}
