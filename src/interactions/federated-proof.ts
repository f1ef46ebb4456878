// Proofs before an upstream account is attached to one of ours. An upstream email equal to an
// existing account's is never enough (account pre-hijacking, takeover through a look-alike upstream
// account): the person signs in with that account's password (then its second factor, through
// completeLogin), or opens a link mailed to its address. An upstream without a verified email gets
// the same mail check for an address the person types. The mailed link only works in the browser
// that started the sign-in (it lives under /interaction/<uid>), so a mail scanner that fetches it,
// or a victim who clicks an attacker's link, proves nothing.
import type { Context } from 'koa';
import { recordEvent, recordLoginAttempt } from '../services/audit.ts';
import { hmacHex, randomToken, safeEqual } from '../services/crypto.ts';
import { providerName } from '../services/federation/providers.ts';
import { verifyPassword } from '../services/passwords.ts';
import { RateLimitedError, retryMessage } from '../services/rate-limit.ts';
import { emailSchema, recordSuccessfulLogin } from '../services/users.ts';
import { renderInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { federationErrorPage, getFederation, setFederation, type PendingFederation } from './federated-state.ts';
import { createAccount, signIn } from './federated.ts';
import { formBody, passwordField, textField } from './form-fields.ts';
import { showLogin } from './login.ts';

const LINK_TTL_MS = 30 * 60_000;

async function waiting(ctx: Context, deps: InteractionDeps, details: InteractionDetails): Promise<PendingFederation | undefined> {
  const pending = await getFederation(deps, details.uid);
  if (pending && !pending.userId) return pending;
  await showLogin(ctx, deps, details, { error: 'That sign-in step has expired. Sign in again.' }, 400);
  return undefined;
}

const accountFor = (deps: InteractionDeps, email: string | undefined) =>
  email ? deps.prisma.user.findUnique({ where: { email: email.toLowerCase() } }) : Promise.resolve(null);

export async function showProveOwnership(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingFederation, extra: Record<string, unknown> = {}, status = 200) {
  const account = await accountFor(deps, pending.profile.email);
  renderInteraction(ctx, deps, details, 'federated-prove', {
    providerName: providerName(deps.config, pending.provider),
    email: pending.profile.email,
    hasPassword: Boolean(account?.passwordHash),
    ...extra,
  }, status);
}

export async function proveByPassword(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const pending = await waiting(ctx, deps, details);
  if (!pending) return;
  const account = pending.profile.emailVerified ? await accountFor(deps, pending.profile.email) : null;
  if (!account) return showLogin(ctx, deps, details, { error: 'That sign-in step has expired. Sign in again.' }, 400);
  const errors: Record<string, string> = {};
  const password = passwordField(formBody(ctx), 'password', errors);
  if (errors.password) return showProveOwnership(ctx, deps, details, pending, { error: errors.password }, 400);
  const info = requestInfo(ctx, deps.config);
  try {
    // Same budget as the password form: this is a password guess against that account.
    await deps.loginLimiter.consume(account.email, info.ipHash);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return showProveOwnership(ctx, deps, details, pending, { error: retryMessage(err) }, 429);
  }
  const ok = account.passwordHash ? (await verifyPassword(account.passwordHash, password)).ok : false;
  if (!ok) {
    await recordLoginAttempt(deps.prisma, { userId: account.id, successful: false, reason: 'bad_password', ...info });
    await recordEvent(deps.prisma, { userId: account.id, type: 'login_failed', metadata: { reason: 'bad_password', provider: pending.provider } });
    return showProveOwnership(ctx, deps, details, pending, { error: 'That password is not correct.' }, 401);
  }
  await deps.loginLimiter.reset(account.email);
  await recordSuccessfulLogin(deps.prisma, account.id);
  await signIn(ctx, deps, details, { ...pending, userId: account.id, link: true }, account, ['pwd']);
}

export function showAskEmail(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingFederation, extra: Record<string, unknown> = {}, status = 200) {
  renderInteraction(ctx, deps, details, 'federated-email', { providerName: providerName(deps.config, pending.provider), email: '', ...extra }, status);
}

export async function submitEmail(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const pending = await waiting(ctx, deps, details);
  if (!pending) return;
  const errors: Record<string, string> = {};
  const typed = textField(formBody(ctx), 'email', errors, { max: 254, required: true, label: 'email address' });
  const parsed = emailSchema.safeParse(typed);
  if (errors.email || !parsed.success) return showAskEmail(ctx, deps, details, pending, { error: errors.email ?? 'Enter a valid email address, like name@example.com.', email: typed }, 400);
  await mailLink(ctx, deps, details, pending, parsed.data, (error) => showAskEmail(ctx, deps, details, pending, { email: typed, error }, 429));
}

/** "Email me a link" on the proof page: to the existing account's address. */
export async function sendOwnershipLink(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const pending = await waiting(ctx, deps, details);
  if (!pending) return;
  const account = pending.profile.emailVerified ? await accountFor(deps, pending.profile.email) : null;
  if (!account) return showLogin(ctx, deps, details, { error: 'That sign-in step has expired. Sign in again.' }, 400);
  await mailLink(ctx, deps, details, pending, account.email, (error) => showProveOwnership(ctx, deps, details, pending, { error }, 429));
}

async function mailLink(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingFederation, email: string, limited: (error: string) => Promise<void> | void) {
  try {
    await deps.actionLimiter.consume('verify_resend', email);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return limited(retryMessage(err));
  }
  const token = randomToken(32);
  await setFederation(deps, details.uid, { ...pending, mail: { email, tokenHash: hmacHex(deps.config.hmacKey, token), expiresAt: Date.now() + LINK_TTL_MS } });
  const existing = await accountFor(deps, email);
  const name = providerName(deps.config, pending.provider);
  const link = `${deps.config.issuer}/interaction/${details.uid}/federated/confirm?token=${token}`;
  // Same page whether or not the address has an account; only its owner learns which, by mail.
  deps.mailer.sendInBackground('federation-link', email, { link, providerName: name, existing: Boolean(existing) });
  renderInteraction(ctx, deps, details, 'federated-sent', { email, providerName: name });
}

export async function confirmByMail(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const pending = await waiting(ctx, deps, details);
  if (!pending) return;
  const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
  const mail = pending.mail;
  const valid = mail && token.length <= 64 && Date.now() < mail.expiresAt && safeEqual(hmacHex(deps.config.hmacKey, token), mail.tokenHash);
  if (!valid) {
    return federationErrorPage(ctx, deps, 400, 'This link is not valid or has expired. Links work once, for 30 minutes, in the browser where you started signing in.', {
      href: `/interaction/${details.uid}/federated`,
      text: 'Send a new link',
    });
  }
  const rest = { ...pending, mail: undefined };
  await setFederation(deps, details.uid, rest);
  const account = await accountFor(deps, mail.email);
  // The mailbox is proven: link to its account, or create one with it (as a verified address).
  if (account) return signIn(ctx, deps, details, { ...rest, userId: account.id, link: true }, account);
  await createAccount(ctx, deps, details, rest, mail.email, providerName(deps.config, pending.provider));
}
