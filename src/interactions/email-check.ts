// The "check your email" step: a sign-in (or a registration) whose email is not verified waits
// here, with a resend button, and goes back to the relying party only once the address is verified.
// The waiting state is kept per interaction in the short-lived store.
import type { Context } from 'koa';
import { recordEvent } from '../services/audit.ts';
import { completeLogin } from './complete.ts';
import { issueVerificationToken } from '../services/one-time-tokens.ts';
import { RateLimitedError, retryMessage } from '../services/rate-limit.ts';
import { findUserById } from '../services/users.ts';
import { renderInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';

export interface PendingLogin {
  /** Null after a registration that collided with an existing email: nothing to continue to. */
  accountId: string | null;
  /** The address shown on the page, as the visitor typed it. */
  email: string;
  amr: string[];
  /** What the sign-in waits for: the email link (default) or a second factor. */
  stage?: 'verify-email' | 'mfa' | 'device';
  /** Device step-up: keyed hash of the mailed code and its expiry (ms). */
  codeHash?: string;
  codeExpiresAt?: number;
}

const key = (uid: string) => `pending:${uid}`;

export async function getPending(deps: InteractionDeps, uid: string): Promise<PendingLogin | undefined> {
  return deps.store.get<PendingLogin>(key(uid));
}

export async function setPending(deps: InteractionDeps, uid: string, pending: PendingLogin): Promise<void> {
  await deps.store.set(key(uid), pending, deps.config.ttl.interaction);
}

export async function clearPending(deps: InteractionDeps, uid: string): Promise<void> {
  await deps.store.del(key(uid));
}

export function verifyLink(deps: InteractionDeps, token: string): string {
  return `${deps.config.issuer}/account/verify-email?token=${token}`;
}

/** Issues a verification token and mails the link (in the background). */
export async function sendVerification(ctx: Context, deps: InteractionDeps, userId: string, email: string): Promise<void> {
  const token = await issueVerificationToken(deps.prisma, userId, email, requestInfo(ctx, deps.config));
  deps.mailer.sendInBackground('verify-email', email, { link: verifyLink(deps, token), email });
  await recordEvent(deps.prisma, { userId, type: 'verification_sent', metadata: {} });
}

export function showCheckEmail(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingLogin, extra: Record<string, unknown> = {}, status = 200) {
  renderInteraction(ctx, deps, details, 'check-email', { email: pending.email, ...extra }, status);
}

export async function resendVerification(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingLogin) {
  try {
    await deps.actionLimiter.consume('verify_resend', pending.accountId ?? pending.email);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return showCheckEmail(ctx, deps, details, pending, { error: retryMessage(err) }, 429);
  }
  const user = pending.accountId ? await findUserById(deps.prisma, pending.accountId) : null;
  // A collided registration gets the same answer and no mail: nothing tells the visitor apart.
  if (user && !user.emailVerified) await sendVerification(ctx, deps, user.id, user.email);
  showCheckEmail(ctx, deps, details, pending, { notice: 'We sent a new link. Links sent earlier no longer work.' });
}

export async function continueAfterVerification(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingLogin) {
  const user = pending.accountId ? await findUserById(deps.prisma, pending.accountId) : null;
  const verifiedEnough = user && (user.emailVerified || !deps.config.account.requireEmailVerification);
  if (!user || !verifiedEnough || user.status !== 'active') {
    return showCheckEmail(ctx, deps, details, pending, { error: 'Your email address is not verified yet. Open the link we sent you, then press Continue.' }, 400);
  }
  await completeLogin(ctx, deps, details, user, pending.amr, { afterVerification: true });
}
