// The core protocol end to end against a started server, with openid-client as the relying party
// and the login done by posting the real HTML forms.
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.ts';
import { hashPassword } from '../src/services/passwords.ts';
import { createResourceServer } from '../src/services/resources.ts';
import { createUser } from '../src/services/users.ts';
import { Agent } from './support/agent.ts';
import { signIn } from './support/flow.ts';
import { startTestServer, waitForScope, type TestServer } from './support/server.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import bcrypt from '@node-rs/bcrypt';

const RP = 'http://rp.example.test';
const REDIRECT = `${RP}/cb`;
const API = 'https://api.example.test';
const PASSWORD = 'correct horse battery staple';

let srv: TestServer;
let rp: oidc.Configuration;
let svc: oidc.Configuration;
let pub: oidc.Configuration;

const backends = `${DATABASE_URL ? 'PostgreSQL' : 'PGlite'} + ${REDIS_URL ? 'Redis' : 'in-process store'}`;

async function discover(id: string, secret?: string) {
  return oidc.discovery(new URL(srv.issuer), id, secret, secret ? undefined : oidc.None(), { execute: [oidc.allowInsecureRequests] });
}

async function authorize(cfg: oidc.Configuration, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(cfg, {
    redirect_uri: REDIRECT,
    scope: 'openid email profile offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url: url.toString(), verifier, state, nonce };
}

async function fullLogin(agent = new Agent(), login = 'alice@example.test') {
  const req = await authorize(rp);
  const hop = await signIn(agent, srv.issuer, req.url, { login, password: PASSWORD });
  expect(hop.location ?? hop.url).toContain(REDIRECT);
  const tokens = await oidc.authorizationCodeGrant(rp, new URL(hop.location!), {
    pkceCodeVerifier: req.verifier,
    expectedState: req.state,
    expectedNonce: req.nonce,
  });
  return { tokens, agent };
}

describe(`authorization code + PKCE, tokens, logout (${backends})`, () => {
  beforeAll(async () => {
    srv = await startTestServer('flow');
    const prisma = srv.db.prisma;
    await createUser(prisma, { email: 'alice@example.test', username: 'alice', password: PASSWORD, emailVerified: true, firstName: 'Alice' });
    await createUser(prisma, { email: 'bob@example.test', password: PASSWORD, emailVerified: false });
    await createUser(prisma, { email: 'legacy@example.test', passwordHash: await bcrypt.hash(PASSWORD, 12), emailVerified: true });
    const suspended = await createUser(prisma, { email: 'sus@example.test', password: PASSWORD });
    await prisma.user.update({ where: { id: suspended.id }, data: { status: 'suspended' } });
    await createResourceServer(prisma, { identifier: API, scope: 'read write' });
    await waitForScope(srv.issuer, 'write');
    await createClient(prisma, {
      id: 'webapp',
      secret: 'webapp-secret-0123456789abcdef',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [`${RP}/bye`],
      grantTypes: ['authorization_code', 'refresh_token'],
      scope: 'openid profile email offline_access',
    });
    await createClient(prisma, {
      id: 'spa',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scope: 'openid profile email offline_access',
    });
    await createClient(prisma, {
      id: 'service',
      secret: 'service-secret-0123456789abcdef',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      scope: 'read write',
    });
    rp = await discover('webapp', 'webapp-secret-0123456789abcdef');
    svc = await discover('service', 'service-secret-0123456789abcdef');
    pub = await discover('spa');
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('serves discovery and a JWKS with an ES256 and an RS256 key, no private parts', async () => {
    const meta = rp.serverMetadata();
    expect(meta.issuer).toBe(srv.issuer);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    const jwks = (await (await fetch(`${srv.issuer}/jwks`)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const k of jwks.keys) expect(k.d).toBeUndefined();
  });

  it('signs a user in with code + PKCE, issues verifiable ID token and userinfo', async () => {
    const { tokens } = await fullLogin();
    const claims = tokens.claims()!;
    expect(claims.email).toBe('alice@example.test');
    expect(claims.email_verified).toBe(true);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.expires_in).toBeLessThanOrEqual(900);
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, email: 'alice@example.test', given_name: 'Alice', preferred_username: 'alice' });
    const user = await srv.db.prisma.user.findUniqueOrThrow({ where: { email: 'alice@example.test' } });
    expect(user.lastLoginAt).toBeTruthy();
    const ok = await srv.db.prisma.loginAttempt.count({ where: { userId: user.id, successful: true } });
    expect(ok).toBeGreaterThan(0);
    expect(await srv.db.prisma.accountEvent.count({ where: { userId: user.id, type: 'login_succeeded' } })).toBeGreaterThan(0);
  });

  it('signs in by username as well as email', async () => {
    const { tokens } = await fullLogin(new Agent(), 'ALICE');
    expect(tokens.claims()!.email).toBe('alice@example.test');
  });

  it('remembers consent: a second authorization in the same session skips the consent page', async () => {
    const { agent } = await fullLogin();
    const req = await authorize(rp, { prompt: '', scope: 'openid email' });
    const hop = await agent.follow(req.url.replace('&prompt=', ''), srv.issuer);
    expect(hop.status).toBe(303);
    expect(hop.location).toContain(`${REDIRECT}?code=`);
  });

  it('rotates refresh tokens; reusing an old one revokes the whole grant', async () => {
    const { tokens } = await fullLogin();
    const first = tokens.refresh_token!;
    const second = await oidc.refreshTokenGrant(rp, first);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first);
    await expect(oidc.refreshTokenGrant(rp, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    // The reuse revoked the grant: the newest refresh token and its access token are dead too.
    await expect(oidc.refreshTokenGrant(rp, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const intro = await oidc.tokenIntrospection(rp, second.access_token);
    expect(intro.active).toBe(false);
  });

  it('lets only one of two concurrent uses of a refresh token win', async () => {
    const { tokens } = await fullLogin();
    const results = await Promise.allSettled([oidc.refreshTokenGrant(rp, tokens.refresh_token!), oidc.refreshTokenGrant(rp, tokens.refresh_token!)]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThanOrEqual(1);
  });

  it('refuses a second redemption of an authorization code', async () => {
    const req = await authorize(rp);
    const hop = await signIn(new Agent(), srv.issuer, req.url, { login: 'alice@example.test', password: PASSWORD });
    const cb = new URL(hop.location!);
    await oidc.authorizationCodeGrant(rp, cb, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
    await expect(
      oidc.authorizationCodeGrant(rp, cb, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('requires PKCE for a public client', async () => {
    const url = oidc.buildAuthorizationUrl(pub, { redirect_uri: REDIRECT, scope: 'openid', state: 'x' });
    const hop = await new Agent().request(url.toString());
    expect(hop.status).toBe(303);
    const loc = new URL(hop.location!);
    expect(loc.origin + loc.pathname).toBe(REDIRECT);
    expect(loc.searchParams.get('error')).toBe('invalid_request');
    expect(loc.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('issues client_credentials JWT access tokens for a resource, verifiable against /jwks', async () => {
    const t = await oidc.clientCredentialsGrant(svc, { scope: 'read', resource: API });
    expect(t.token_type.toLowerCase()).toBe('bearer');
    const jwks = createRemoteJWKSet(new URL(`${srv.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(t.access_token, jwks, { issuer: srv.issuer, audience: API, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.client_id).toBe('service');
    expect(payload.scope).toBe('read');
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('refuses client_credentials for an unknown resource and a wrong secret', async () => {
    await expect(oidc.clientCredentialsGrant(svc, { scope: 'read', resource: 'https://unknown.example.test' })).rejects.toMatchObject({
      error: 'invalid_target',
    });
    const bad = await discover('service', 'wrong-secret');
    await expect(oidc.clientCredentialsGrant(bad, { scope: 'read' })).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('introspects and revokes opaque access and refresh tokens', async () => {
    const { tokens } = await fullLogin();
    const active = await oidc.tokenIntrospection(rp, tokens.access_token);
    expect(active).toMatchObject({ active: true, client_id: 'webapp' });
    await oidc.tokenRevocation(rp, tokens.access_token);
    expect((await oidc.tokenIntrospection(rp, tokens.access_token)).active).toBe(false);
    await oidc.tokenRevocation(rp, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('stores no token value in clear', async () => {
    const { tokens } = await fullLogin();
    const rows = await srv.db.sql.query<{ t: string }>(
      `SELECT row_to_json(r)::text AS t FROM refresh_tokens r UNION ALL SELECT row_to_json(s)::text FROM sessions s`,
    );
    const dump = rows.rows.map((r) => r.t).join('\n');
    expect(dump.length).toBeGreaterThan(0);
    expect(dump).not.toContain(tokens.refresh_token!);
    expect(dump).not.toContain(tokens.access_token);
    if (srv.redis) {
      const keys = await srv.redis.keys(`${srv.config.redisKeyPrefix}*`);
      expect(keys.join(' ')).not.toContain(tokens.access_token);
      const values = await Promise.all(keys.filter((k) => !k.includes('grant:')).map((k) => srv.redis!.type(k).then((t) => (t === 'string' ? srv.redis!.get(k) : srv.redis!.hgetall(k).then(JSON.stringify)))));
      expect(values.join(' ')).not.toContain(tokens.access_token);
    }
  });

  it('upgrades an imported bcrypt hash to argon2id at the next login', async () => {
    await fullLogin(new Agent(), 'legacy@example.test');
    const u = await srv.db.prisma.user.findUniqueOrThrow({ where: { email: 'legacy@example.test' } });
    expect(u.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('gives the same answer for an unknown user and a wrong password, and refuses suspended users', async () => {
    const answers: string[] = [];
    for (const login of ['nobody@example.test', 'alice@example.test']) {
      const req = await authorize(rp);
      const hop = await signIn(new Agent(), srv.issuer, req.url, { login, password: 'wrong password here' });
      expect(hop.status).toBe(401);
      answers.push(hop.body.match(/role="alert"[^>]*>([^<]+)</)![1]);
    }
    expect(answers[0]).toBe(answers[1]);
    const unknown = await srv.db.prisma.loginAttempt.count({ where: { userId: null, reason: 'unknown_user' } });
    expect(unknown).toBeGreaterThan(0);

    const req = await authorize(rp);
    const hop = await signIn(new Agent(), srv.issuer, req.url, { login: 'sus@example.test', password: PASSWORD });
    expect(hop.status).toBe(403);
    expect(hop.location).toBeUndefined();
  });

  it('ends the session with RP-initiated logout', async () => {
    const { tokens, agent } = await fullLogin();
    const url = oidc.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${RP}/bye`, state: 's1' });
    const page = await agent.follow(url.toString(), srv.issuer);
    expect(page.status).toBe(200);
    const action = page.body.match(/<form[^>]*action="([^"]+)"/)![1];
    const xsrf = page.body.match(/name="xsrf" value="([^"]+)"/)![1];
    const done = await agent.submit(page.url, action, { xsrf, logout: 'yes' });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${RP}/bye?state=s1`);
    // The session is gone: a silent authorization now needs a login.
    const silent = await authorize(rp, { prompt: 'none' });
    const hop = await agent.follow(silent.url, srv.issuer);
    expect(new URL(hop.location!).searchParams.get('error')).toBe('login_required');
  });

  it('hashes new passwords with argon2id', async () => {
    expect(await hashPassword('another long password')).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});
