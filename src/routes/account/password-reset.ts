// Forgotten password: the request page always gives the same answer, whether or not the address
// has an account, and the work (token, mail) happens after the response so timing says nothing.
// The reset link carries a single-use token valid 1 hour; a new password follows the registration
// rules, ends the user's sessions, grants and refresh tokens (configurable), and sends a notice.
import type { Context } from 'koa';
import type { InteractionDeps } from '../../interactions/context.ts';
import { requestInfo } from '../../interactions/context.ts';
import { formBody, passwordField, textField, type FieldErrors } from '../../interactions/form-fields.ts';
import { recordEvent } from '../../services/audit.ts';
import { findResetToken, issueResetToken, useResetToken } from '../../services/one-time-tokens.ts';
import { hashPassword } from '../../services/passwords.ts';
import { passwordProblem } from '../../services/password-policy.ts';
import { RateLimitedError, retryMessage } from '../../services/rate-limit.ts';
import { revokeUserAccess } from '../../services/revocation.ts';
import { emailSchema, findUserById } from '../../services/users.ts';
import { checkCsrf, messagePage, renderPage } from './page.ts';

const INVALID_LINK = 'This reset link is invalid, has expired or was already used. Ask for a new one.';

export function showForgot(ctx: Context, deps: InteractionDeps, data: Record<string, unknown> = {}, status = 200) {
  renderPage(ctx, deps, 'forgot-password', 'forgot', { errors: {}, values: {}, ...data }, status);
}

export async function submitForgot(ctx: Context, deps: InteractionDeps) {
  const body = formBody(ctx);
  checkCsrf(ctx, deps, 'forgot', body);
  const errors: FieldErrors = {};
  const typed = textField(body, 'email', errors, { max: 254, required: true, label: 'email address' });
  const parsed = emailSchema.safeParse(typed);
  if (!errors.email && !parsed.success) errors.email = 'Enter a valid email address, like name@example.com.';
  if (errors.email || !parsed.success) return showForgot(ctx, deps, { errors, values: { email: typed } }, 400);
  const email = parsed.data;
  const info = requestInfo(ctx, deps.config);
  try {
    await deps.actionLimiter.consume('reset_ip', info.ipHash);
    await deps.actionLimiter.consume('reset_email', email);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return showForgot(ctx, deps, { error: retryMessage(err), values: { email: typed } }, 429);
  }
  // After the response: the same page, in the same time, for known and unknown addresses.
  setImmediate(() => {
    void (async () => {
      const user = await deps.prisma.user.findUnique({ where: { email } });
      if (!user || user.status !== 'active') return;
      const token = await issueResetToken(deps.prisma, user.id, info);
      await recordEvent(deps.prisma, { userId: user.id, type: 'password_reset_requested', metadata: {} });
      await deps.mailer.send('reset-password', user.email, { link: `${deps.config.issuer}/account/reset?token=${token}` });
    })().catch((err: Error) => deps.logger.error({ err: err.message }, 'password reset request failed'));
  });
  messagePage(ctx, deps, 'Check your email', 'If an account exists for that address, we sent it a link to reset the password. The link expires in 1 hour.');
}

export async function showReset(ctx: Context, deps: InteractionDeps) {
  const token = ctx.query.token;
  const row = await findResetToken(deps.prisma, token);
  if (!row) return messagePage(ctx, deps, 'Link not valid', INVALID_LINK, 400, { href: '/account/forgot', text: 'Ask for a new link' });
  renderPage(ctx, deps, 'reset-password', 'reset', { token, errors: {} });
}

export async function submitReset(ctx: Context, deps: InteractionDeps) {
  const body = formBody(ctx);
  checkCsrf(ctx, deps, 'reset', body);
  const row = await findResetToken(deps.prisma, body.token);
  const user = row ? await findUserById(deps.prisma, row.userId) : null;
  if (!row || !user || user.status !== 'active') {
    return messagePage(ctx, deps, 'Link not valid', INVALID_LINK, 400, { href: '/account/forgot', text: 'Ask for a new link' });
  }
  const errors: FieldErrors = {};
  const password = passwordField(body, 'password', errors, 'new password');
  if (!errors.password) {
    const problem = passwordProblem(password, user);
    if (problem) errors.password = problem;
  }
  if (errors.password) return renderPage(ctx, deps, 'reset-password', 'reset', { token: body.token, errors }, 400);

  const passwordHash = await hashPassword(password);
  // The token is used up and the password set in one transaction: both or neither.
  const done = await deps.prisma.$transaction(async (tx) => {
    if (!(await useResetToken(tx, row.id))) return false;
    await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    return true;
  });
  if (!done) return messagePage(ctx, deps, 'Link not valid', INVALID_LINK, 400, { href: '/account/forgot', text: 'Ask for a new link' });

  const signedOut = deps.config.account.revokeOnPasswordReset;
  const revoked = signedOut ? await revokeUserAccess(deps.prisma, deps.revokeGrant, user.id) : { sessions: 0, grants: 0 };
  // Whoever was locked out by guessing can sign in with the new password at once.
  await deps.loginLimiter.reset(user.email);
  if (user.username) await deps.loginLimiter.reset(user.username);
  await recordEvent(deps.prisma, { userId: user.id, type: 'password_reset_completed', metadata: { ...revoked } });
  deps.mailer.sendInBackground('password-changed', user.email, { signedOut, link: `${deps.config.issuer}/account/forgot` });
  messagePage(ctx, deps, 'Password changed', 'Your new password is set. Go back to your application and sign in with it.');
}
