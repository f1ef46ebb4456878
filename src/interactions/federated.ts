// Social sign-in in the hosted flow: "Continue with <provider>" starts an upstream authorization
// request; after the callback (routes/federation/callback.ts) the browser comes back here and the
// upstream account is matched to ours:
//  - already linked: that account signs in (its second factor and other gates still apply);
//  - verified upstream email, no account with it: a new account with emailVerified true;
//  - verified upstream email of an existing account: never linked automatically; the person proves
//    ownership first (federated-proof.ts);
//  - no verified upstream email: the person gives an address and confirms it by mail.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { UpstreamProvider } from '../config.ts';
import { HttpError } from '../errors.ts';
import { recordEvent, recordLoginAttempt } from '../services/audit.ts';
import { createUserWithIdentity, findIdentity } from '../services/federation/identities.ts';
import { callbackUrl, findProvider, providerName } from '../services/federation/providers.ts';
import { authorizationRequest, UpstreamError } from '../services/federation/upstream.ts';
import { findUserById } from '../services/users.ts';
import type { User } from '../generated/prisma/client.ts';
import { completeLogin } from './complete.ts';
import { renderInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { federationErrorPage, getFederation, saveStartedFlow, setFederation, upstreamMessage, type PendingFederation, type StartedFlow } from './federated-state.ts';
import { confirmByMail, proveByPassword, sendOwnershipLink, showAskEmail, showProveOwnership, submitEmail } from './federated-proof.ts';
import { formBody } from './form-fields.ts';
import { showLogin } from './login.ts';

/** Sends the browser to the upstream, remembering (server-side) what the callback must check. */
export async function redirectUpstream(ctx: Context, deps: InteractionDeps, p: UpstreamProvider, flow: Omit<StartedFlow, 'checks' | 'provider'>, back: { href: string; text: string }, heading?: string) {
  let req;
  try {
    req = await authorizationRequest(p, callbackUrl(deps.config, p.id));
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    deps.logger.warn({ provider: p.id, kind: err.kind, detail: err.detail }, 'upstream discovery failed');
    const { status, message } = upstreamMessage(p.name, err);
    return federationErrorPage(ctx, deps, status, message, back, heading);
  }
  await saveStartedFlow(deps, { ...flow, provider: p.id, checks: req.checks });
  ctx.status = 303;
  ctx.redirect(req.url);
}

async function start(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const p = findProvider(deps.config, formBody(ctx).provider);
  if (!p) throw new HttpError(400, 'unknown_provider', 'This sign-in option is not available. Go back and choose another.');
  await redirectUpstream(ctx, deps, p, { purpose: 'login', uid: details.uid }, { href: `/interaction/${details.uid}`, text: 'Sign in another way' });
}

/** The browser is back from the callback with a verified upstream profile. */
async function resume(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const pending = await getFederation(deps, details.uid);
  if (!pending) return showLogin(ctx, deps, details);
  // Already matched (a second factor or the email check is waiting): that step's page is at the interaction root.
  if (pending.userId) return ctx.redirect(`/interaction/${details.uid}`);
  const name = providerName(deps.config, pending.provider);
  const identity = await findIdentity(deps.prisma, pending.provider, pending.profile.subject);
  if (identity) {
    const user = await findUserById(deps.prisma, identity.userId);
    return signIn(ctx, deps, details, { ...pending, userId: identity.userId }, user!);
  }
  const { email, emailVerified } = pending.profile;
  if (!email || !emailVerified) return showAskEmail(ctx, deps, details, pending);
  const existing = await deps.prisma.user.findUnique({ where: { email: email.toLowerCase() } });
  if (existing) return showProveOwnership(ctx, deps, details, pending);
  await createAccount(ctx, deps, details, pending, email, name);
}

/** A new account for a proven address (verified upstream, or confirmed by our mail). */
export async function createAccount(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingFederation, email: string, name: string) {
  if (!deps.config.account.registrationEnabled) {
    return federationErrorPage(ctx, deps, 403, `No account here is connected to this ${name} account, and creating accounts is turned off. Sign in another way, or ask your administrator for an account.`, {
      href: `/interaction/${details.uid}`,
      text: 'Sign in another way',
    });
  }
  const created = await createUserWithIdentity(deps.prisma, {
    email,
    roles: deps.config.account.defaultRoles,
    provider: pending.provider,
    profile: pending.profile,
    accessTokenEnc: pending.accessTokenEnc,
  });
  // Lost a race with a registration of the same address: that account must be proven, as any other.
  if (created === 'email') return showProveOwnership(ctx, deps, details, pending);
  await recordEvent(deps.prisma, { userId: created.id, type: 'registered', metadata: { provider: pending.provider, clientId: String(details.params.client_id ?? '') } });
  await recordEvent(deps.prisma, { userId: created.id, type: 'federated_linked', metadata: { provider: pending.provider } });
  await signIn(ctx, deps, details, { ...pending, userId: created.id }, created);
}

/** Hands over to completeLogin; the identity is written (or refreshed) only when it succeeds. */
export async function signIn(ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingFederation, user: User, amr = ['fed']) {
  if (user.status !== 'active') {
    await recordLoginAttempt(deps.prisma, { userId: user.id, successful: false, reason: `fed_status_${user.status}`, ...requestInfo(ctx, deps.config) });
    return showLogin(ctx, deps, details, { error: 'This account cannot sign in. Contact your administrator.' }, 403);
  }
  await setFederation(deps, details.uid, pending);
  await completeLogin(ctx, deps, details, user, amr, { provider: pending.provider });
}

/** Mounts the federated steps on the interaction router (its loader, CSRF check and step guard). */
export function federatedRoutes(
  router: Router,
  deps: InteractionDeps,
  h: { load: (ctx: Context) => Promise<InteractionDetails>; withForm: Middleware; forms: Middleware; loginStep: (d: InteractionDetails) => void },
) {
  const step = (fn: (ctx: Context, deps: InteractionDeps, d: InteractionDetails) => Promise<void>) => async (ctx: Context) => {
    const details = (ctx.state.details as InteractionDetails | undefined) ?? (await h.load(ctx));
    h.loginStep(details);
    await fn(ctx, deps, details);
  };
  router.post('/federated', h.forms, h.withForm, step(start));
  router.get('/federated', step(resume));
  router.post('/federated/password', h.forms, h.withForm, step(proveByPassword));
  router.post('/federated/email', h.forms, h.withForm, step(submitEmail));
  router.post('/federated/send-link', h.forms, h.withForm, step(sendOwnershipLink));
  router.get('/federated/confirm', step(confirmByMail));
}
