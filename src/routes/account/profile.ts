// The account page of a signed-in user (the provider's browser session): change the password
// after entering the current one, change the email address (effective once the new one is verified).
import type { Context } from 'koa';
import type { InteractionDeps } from '../../interactions/context.ts';
import { requestInfo } from '../../interactions/context.ts';
import { sendVerification } from '../../interactions/email-check.ts';
import { formBody, passwordField, textField, type FieldErrors } from '../../interactions/form-fields.ts';
import { recordEvent } from '../../services/audit.ts';
import { hashPassword, verifyPassword } from '../../services/passwords.ts';
import { passwordProblem } from '../../services/password-policy.ts';
import { RateLimitedError, retryMessage } from '../../services/rate-limit.ts';
import { revokeUserAccess } from '../../services/revocation.ts';
import { emailSchema } from '../../services/users.ts';
import type { User } from '../../generated/prisma/client.ts';
import { checkCsrf, renderPage } from './page.ts';
import { signedInUser } from './session.ts';

function show(ctx: Context, deps: InteractionDeps, user: User, data: Record<string, unknown> = {}, status = 200) {
  renderPage(ctx, deps, 'account', `account:${user.id}`, { user, errors: {}, values: {}, ...data }, status);
}

export async function showAccount(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (!signed) return;
  show(ctx, deps, signed.user);
}

/** Checks the current password, counting failures like sign-in failures (same lock). */
async function currentPasswordOk(deps: InteractionDeps, user: User, password: string, ipHash: string): Promise<string | undefined> {
  try {
    await deps.loginLimiter.consume(user.email, ipHash);
  } catch (err) {
    if (err instanceof RateLimitedError) return retryMessage(err);
    throw err;
  }
  const ok = user.passwordHash ? (await verifyPassword(user.passwordHash, password)).ok : false;
  if (!ok) return 'Your current password is not correct.';
  await deps.loginLimiter.reset(user.email);
  return undefined;
}

export async function changePassword(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (!signed) return;
  const { user, sessionId } = signed;
  const body = formBody(ctx);
  checkCsrf(ctx, deps, `account:${user.id}`, body);
  const errors: FieldErrors = {};
  const current = passwordField(body, 'currentPassword', errors, 'current password');
  const next = passwordField(body, 'newPassword', errors, 'new password');
  if (!errors.newPassword) {
    const problem = passwordProblem(next, user);
    if (problem) errors.newPassword = problem;
  }
  if (!errors.currentPassword && !errors.newPassword) {
    const problem = await currentPasswordOk(deps, user, current, requestInfo(ctx, deps.config).ipHash);
    if (problem) errors.currentPassword = problem;
  }
  if (Object.keys(errors).length) return show(ctx, deps, user, { errors, section: 'password' }, 400);
  await deps.prisma.user.update({ where: { id: user.id }, data: { passwordHash: await hashPassword(next) } });
  // Other browsers and the tokens given to apps lose access; this browser stays signed in.
  const revoked = await revokeUserAccess(deps.prisma, deps.revokeGrant, user.id, { keepSessionId: sessionId });
  await recordEvent(deps.prisma, { userId: user.id, type: 'password_changed', metadata: { ...revoked } });
  deps.mailer.sendInBackground('password-changed', user.email, { signedOut: revoked.sessions + revoked.grants > 0, link: `${deps.config.issuer}/account/forgot` });
  show(ctx, deps, user, { notice: 'Your password was changed. Your other sessions were signed out.' });
}

export async function changeEmail(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (!signed) return;
  const { user } = signed;
  const body = formBody(ctx);
  checkCsrf(ctx, deps, `account:${user.id}`, body);
  const errors: FieldErrors = {};
  const typed = textField(body, 'email', errors, { max: 254, required: true, label: 'new email address' });
  const password = passwordField(body, 'password', errors, 'current password');
  const parsed = emailSchema.safeParse(typed);
  if (!errors.email && !parsed.success) errors.email = 'Enter a valid email address, like name@example.com.';
  if (parsed.success && parsed.data === user.email) errors.email = 'This is already your email address.';
  if (!errors.password && !errors.email) {
    const problem = await currentPasswordOk(deps, user, password, requestInfo(ctx, deps.config).ipHash);
    if (problem) errors.password = problem;
  }
  if (Object.keys(errors).length || !parsed.success) return show(ctx, deps, user, { errors, values: { email: typed }, section: 'email' }, 400);
  try {
    await deps.actionLimiter.consume('email_change', user.id);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    return show(ctx, deps, user, { errors: { email: retryMessage(err) }, values: { email: typed }, section: 'email' }, 429);
  }
  const newEmail = parsed.data;
  const taken = await deps.prisma.user.findUnique({ where: { email: newEmail }, select: { id: true } });
  if (taken) {
    // Same answer as a free address; the owner of that address learns someone tried.
    deps.mailer.sendInBackground('email-taken', newEmail, { link: `${deps.config.issuer}/account/forgot` });
  } else {
    await sendVerification(ctx, deps, user.id, newEmail);
  }
  deps.mailer.sendInBackground('email-change-notice', user.email, { link: `${deps.config.issuer}/account/forgot` });
  await recordEvent(deps.prisma, { userId: user.id, type: 'email_change_requested', metadata: {} });
  show(ctx, deps, user, { notice: 'We sent a link to the new address. Your email address changes when you open it.' });
}

