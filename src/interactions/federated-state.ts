// State of a federated sign-in, kept in the short-lived store:
//  - fed:state:<state>  the started authorization request (PKCE verifier, nonce, who started it),
//    read once by the callback;
//  - fed:pending:<uid>  the verified upstream profile and encrypted access token, waiting for the
//    person to be matched to an account. Nothing is written to the database until the sign-in ends
//    in completeLogin (applyPendingFederation), so an abandoned or failed attempt leaves no trace.
import type { Context } from 'koa';
import { HttpError } from '../errors.ts';
import { recordEvent } from '../services/audit.ts';
import { findIdentity, IdentityTakenError, linkIdentity, refreshIdentity } from '../services/federation/identities.ts';
import { providerName } from '../services/federation/providers.ts';
import type { AuthorizationChecks, UpstreamError, UpstreamProfile } from '../services/federation/upstream.ts';
import { renderView } from '../views.ts';
import { htmlSecurityHeaders } from '../routes/security-headers.ts';
import type { InteractionDeps } from './context.ts';

/** Long enough to type a password at the upstream, short enough that a leaked state is useless. */
export const STATE_TTL = 600;

export interface StartedFlow {
  purpose: 'login' | 'link';
  provider: string;
  /** purpose login: the interaction to return to. */
  uid?: string;
  /** purpose link: the signed-in user who asked to link. */
  userId?: string;
  checks: AuthorizationChecks;
}

export interface PendingFederation {
  provider: string;
  profile: UpstreamProfile;
  accessTokenEnc: string;
  /** The account this sign-in resolved to; set only by a proof (existing link, password, mailed link, new account). */
  userId?: string;
  /** Create the identity when the sign-in completes (an existing account proved ownership). */
  link?: boolean;
  /** An ownership or address check by mail: keyed hash of the link token. */
  mail?: { email: string; tokenHash: string; expiresAt: number };
}

const stateKey = (state: string) => `fed:state:${state}`;
const pendingKey = (uid: string) => `fed:pending:${uid}`;

export async function saveStartedFlow(deps: InteractionDeps, flow: StartedFlow): Promise<void> {
  await deps.store.set(stateKey(flow.checks.state), flow, STATE_TTL);
}

/** Single use: read and deleted atomically, so a replayed callback finds nothing. */
export async function takeStartedFlow(deps: InteractionDeps, state: string): Promise<StartedFlow | undefined> {
  if (!/^[A-Za-z0-9_-]{20,128}$/.test(state)) return undefined;
  return deps.store.take<StartedFlow>(stateKey(state));
}

export function getFederation(deps: InteractionDeps, uid: string): Promise<PendingFederation | undefined> {
  return deps.store.get<PendingFederation>(pendingKey(uid));
}

export async function setFederation(deps: InteractionDeps, uid: string, pending: PendingFederation): Promise<void> {
  await deps.store.set(pendingKey(uid), pending, deps.config.ttl.interaction);
}

export async function clearFederation(deps: InteractionDeps, uid: string): Promise<void> {
  await deps.store.del(pendingKey(uid));
}

/**
 * Called by completeLogin once every gate (email, second factor, device) is passed: makes the
 * link or refreshes the identity, and records it. Does nothing for sign-ins of another account.
 */
export async function applyPendingFederation(deps: InteractionDeps, uid: string, userId: string): Promise<Record<string, string>> {
  const p = await getFederation(deps, uid);
  if (!p || !p.userId || p.userId !== userId) return {};
  await clearFederation(deps, uid);
  const identity = await findIdentity(deps.prisma, p.provider, p.profile.subject);
  if (identity && identity.userId !== userId) {
    throw new HttpError(409, 'already_linked', `This ${providerName(deps.config, p.provider)} account is already connected to another account. Nothing was changed.`);
  }
  if (identity) {
    await refreshIdentity(deps.prisma, identity.id, p.profile, p.accessTokenEnc);
  } else {
    try {
      await linkIdentity(deps.prisma, userId, p.provider, p.profile, p.accessTokenEnc);
    } catch (err) {
      if (!(err instanceof IdentityTakenError)) throw err;
      throw new HttpError(409, 'already_linked', `This ${providerName(deps.config, p.provider)} account is already connected to another account. Nothing was changed.`);
    }
    await recordEvent(deps.prisma, { userId, type: 'federated_linked', metadata: { provider: p.provider } });
  }
  await recordEvent(deps.prisma, { userId, type: 'federated_login', metadata: { provider: p.provider } });
  return { provider: p.provider };
}

export function upstreamMessage(name: string, err: UpstreamError): { status: number; message: string } {
  switch (err.kind) {
    case 'unavailable':
      return { status: 502, message: `${name} cannot be reached right now, so you were not signed in. Try again in a few minutes, or sign in another way.` };
    case 'denied':
      return { status: 400, message: `${name} did not sign you in (the sign-in was cancelled or refused there). Try again, or sign in another way.` };
    default:
      return { status: 400, message: `The answer from ${name} could not be verified, so you were not signed in. Start again from the sign-in page.` };
  }
}

/** A readable error page, with the way back to the sign-in page when there is one. */
export function federationErrorPage(ctx: Context, deps: InteractionDeps, status: number, message: string, back?: { href: string; text: string }, heading = 'You were not signed in'): void {
  htmlSecurityHeaders(ctx);
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderView('message', { productName: deps.config.productName, heading, message, link: back, status });
}
