// The upstream side of social sign-in, with openid-client: the authorization request (PKCE S256,
// state, and a nonce for OpenID Connect upstreams) and the callback (state, iss, ID token and nonce
// checked by the library, code redeemed), reduced to one profile shape for every provider type.
import * as oidc from 'openid-client';
import type { UpstreamProvider } from '../../config.ts';
import { githubProfile } from './github.ts';
import { avatar, email, str, type UpstreamProfile } from './profile.ts';
import { UpstreamError, upstreamFailure } from './upstream-error.ts';

export { UpstreamError } from './upstream-error.ts';
export type { UpstreamProfile } from './profile.ts';


/** What the callback needs to finish: kept server-side, keyed by `state`, used once. */
export interface AuthorizationChecks {
  state: string;
  verifier: string;
  nonce?: string;
}

// Seconds per upstream HTTP call: a hanging upstream must not hold a sign-in page for long.
const TIMEOUT = 10;
// Discovery documents are re-read hourly (the library re-fetches keys on an unknown kid by itself).
const DISCOVERY_MAX_AGE_MS = 3600_000;
const cache = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();

const insecure = (url: string) => url.startsWith('http:'); // loopback only, enforced by config.ts

async function load(p: UpstreamProvider): Promise<oidc.Configuration> {
  if (p.type === 'github') {
    const gh = p.github!;
    const config = new oidc.Configuration(
      { issuer: new URL(gh.authorizationUrl).origin, authorization_endpoint: gh.authorizationUrl, token_endpoint: gh.tokenUrl },
      p.clientId,
      p.clientSecret,
    );
    if (insecure(gh.tokenUrl)) oidc.allowInsecureRequests(config);
    config.timeout = TIMEOUT;
    return config;
  }
  const config = await oidc.discovery(new URL(p.issuer!), p.clientId, p.clientSecret, undefined, {
    execute: insecure(p.issuer!) ? [oidc.allowInsecureRequests] : [],
    timeout: TIMEOUT,
  });
  config.timeout = TIMEOUT;
  return config;
}

async function configuration(p: UpstreamProvider): Promise<oidc.Configuration> {
  const key = `${p.id}|${p.issuer ?? p.github?.authorizationUrl}|${p.clientId}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < DISCOVERY_MAX_AGE_MS) return hit.config;
  const entry = { at: Date.now(), config: load(p) };
  cache.set(key, entry);
  // A failed discovery is not remembered: the next sign-in tries again.
  entry.config.catch(() => cache.get(key) === entry && cache.delete(key));
  return entry.config;
}

export async function authorizationRequest(p: UpstreamProvider, redirectUri: string): Promise<{ url: string; checks: AuthorizationChecks }> {
  let config: oidc.Configuration;
  try {
    config = await configuration(p);
  } catch (err) {
    throw upstreamFailure(err);
  }
  const verifier = oidc.randomPKCECodeVerifier();
  const checks: AuthorizationChecks = { state: oidc.randomState(), verifier, nonce: p.type === 'github' ? undefined : oidc.randomNonce() };
  const params: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: p.scopes.join(' '),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: checks.state,
  };
  if (checks.nonce) params.nonce = checks.nonce;
  return { url: oidc.buildAuthorizationUrl(config, params).toString(), checks };
}

/** Redeems the code of `callbackUrl` (our registered redirect URI plus the upstream's query). */
export async function finishAuthorization(p: UpstreamProvider, callbackUrl: URL, checks: AuthorizationChecks): Promise<{ profile: UpstreamProfile; accessToken: string }> {
  try {
    const config = await configuration(p);
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: checks.verifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: p.type !== 'github',
    });
    // Only the access token is kept (encrypted); a refresh token, if any, is dropped here.
    const accessToken = tokens.access_token;
    if (p.type === 'github') return { profile: await githubProfile(p.github!.apiUrl, accessToken, TIMEOUT), accessToken };
    const claims = tokens.claims()!;
    let info: Record<string, unknown> = { ...claims };
    if (config.serverMetadata().userinfo_endpoint) {
      info = { ...info, ...(await oidc.fetchUserInfo(config, accessToken, claims.sub)) };
    }
    return { profile: oidcProfile(info), accessToken };
  } catch (err) {
    throw upstreamFailure(err);
  }
}

function oidcProfile(c: Record<string, unknown>): UpstreamProfile {
  const subject = str(c.sub, 255);
  if (!subject) throw new UpstreamError('refused', 'no subject');
  return {
    subject,
    email: email(c.email),
    // Some upstreams send "true" as a string; anything else counts as unverified.
    emailVerified: c.email_verified === true || c.email_verified === 'true',
    displayName: str(c.name, 255),
    givenName: str(c.given_name, 100),
    familyName: str(c.family_name, 100),
    login: str(c.preferred_username, 255),
    avatarUrl: avatar(c.picture),
  };
}
