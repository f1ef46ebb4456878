// The admin API end to end with real tokens: an admin client (client_credentials) manages roles,
// permissions, users, clients, resource servers and keys; a user's next token carries what was
// assigned, verified with jose against /jwks; bad input answers problem+json and writes nothing.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { adminRouter, ADMIN_PREFIX } from '../src/routes/admin/router.ts';
import { ADMIN_SCOPE } from '../src/services/admin-resource.ts';
import { createClient } from '../src/services/clients.ts';
import { signCursor } from '../src/services/cursor.ts';
import { Agent } from './support/agent.ts';
import { adminApi, clientToken, type ApiAnswer } from './support/admin.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import { signIn } from './support/flow.ts';
import { startTestServer, waitForScope, type TestServer } from './support/server.ts';

const backends = `${DATABASE_URL ? 'PostgreSQL' : 'PGlite'} + ${REDIS_URL ? 'Redis' : 'in-process store'}`;
const POSTS = 'https://posts.example.test';
const RP = 'http://rp.admin.test';
const REDIRECT = `${RP}/cb`;
const PASSWORD = 'a perfectly long passphrase 42';

let srv: TestServer;
let api: ReturnType<typeof adminApi>;
let admin: string; // token of the admin client, every admin permission
let reader: string; // token of a client allowed admin:users:read only

function expectProblem(r: ApiAnswer, status: number, code?: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.type).toContain('application/problem+json');
  expect(r.body).toMatchObject({ type: 'about:blank', status, ...(code ? { code } : {}) });
  expect(typeof r.body.title).toBe('string');
  expect(typeof r.body.detail).toBe('string');
}

async function userLogin(rp: oidc.Configuration, login: string, scope: string, resource: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope,
    ...(resource ? { resource } : {}),
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const hop = await signIn(new Agent(), srv.issuer, url.toString(), { login, password: PASSWORD });
  expect(hop.location ?? hop.url, hop.body?.slice?.(0, 500)).toContain(REDIRECT);
  return oidc.authorizationCodeGrant(rp, new URL(hop.location!), { pkceCodeVerifier: verifier, expectedState: state }, resource ? { resource } : {});
}

describe(`admin API (${backends})`, () => {
  beforeAll(async () => {
    srv = await startTestServer('admin');
    api = adminApi(srv);
    const base = { redirectUris: [], grantTypes: ['client_credentials'] };
    await createClient(srv.db.prisma, { ...base, id: 'ops', secret: 'ops-secret-0123456789abcdefghij', scope: ADMIN_SCOPE });
    await createClient(srv.db.prisma, { ...base, id: 'auditor', secret: 'auditor-secret-0123456789abcdef', scope: 'admin:users:read' });
    admin = await clientToken(srv, 'ops', 'ops-secret-0123456789abcdefghij', ADMIN_SCOPE);
    reader = await clientToken(srv, 'auditor', 'auditor-secret-0123456789abcdef', 'admin:users:read');
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('creates a role with permissions, assigns it, and the next access token carries it (jose-verified)', async () => {
    expect((await api('POST', '/resource-servers', { token: admin, body: { identifier: POSTS, scope: 'read:post write:post' } })).status).toBe(201);
    await waitForScope(srv.issuer, 'write:post');
    for (const name of ['read:post', 'write:post']) {
      expect((await api('POST', '/permissions', { token: admin, body: { name, description: `may ${name}` } })).status).toBe(201);
    }
    const role = await api('POST', '/roles', { token: admin, body: { name: 'editor', description: 'Edits posts', permissions: ['write:post'] } });
    expect(role.status, JSON.stringify(role.body)).toBe(201);
    expect(role.body).toMatchObject({ name: 'editor', permissions: ['write:post'], userCount: 0 });

    const user = await api('POST', '/users', { token: admin, body: { email: 'Erin@Example.test', username: 'Erin', password: PASSWORD, emailVerified: true } });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    expect(user.body).toMatchObject({ email: 'erin@example.test', username: 'erin', roles: ['user'], status: 'active' });
    expect(JSON.stringify(user.body)).not.toMatch(/argon2|passwordHash/);
    const assigned = await api('PUT', `/users/${user.body.id}/roles/editor`, { token: admin });
    expect(assigned.body).toEqual({ userId: user.body.id, roles: ['editor', 'user'] });

    const rpClient = await api('POST', '/clients', {
      token: admin,
      body: { clientId: 'posts-app', name: 'Posts', redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'], scope: 'openid roles offline_access read:post write:post' },
    });
    expect(rpClient.status, JSON.stringify(rpClient.body)).toBe(201);
    expect(rpClient.body.clientSecret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const rp = await oidc.discovery(new URL(srv.issuer), 'posts-app', rpClient.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });

    const tokens = await userLogin(rp, 'erin', 'openid roles offline_access read:post write:post', POSTS);
    const jwks = createRemoteJWKSet(new URL(`${srv.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: srv.issuer, audience: POSTS, typ: 'at+jwt' });
    expect(payload.sub).toBe(user.body.id);
    expect(payload.roles).toEqual(['editor', 'user']);
    // The user's permissions intersected with what the client asked for: no read:post, which no role grants.
    expect(payload.permissions).toEqual(['write:post']);
    expect(tokens.claims()!.roles).toEqual(['editor', 'user']);
    // Without a resource the access token is for userinfo, which carries roles too.
    const plain = await userLogin(rp, 'erin', 'openid roles', '');
    expect(await oidc.fetchUserInfo(rp, plain.access_token, user.body.id)).toMatchObject({ roles: ['editor', 'user'] });

    // Taking the role away shows in the next token (a refresh), and the change names its actor.
    await api('DELETE', `/users/${user.body.id}/roles/editor`, { token: admin });
    const next = await oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: POSTS });
    const after = (await jwtVerify(next.access_token, jwks, { issuer: srv.issuer, audience: POSTS })).payload;
    expect(after.roles).toEqual(['user']);
    expect(after.permissions).toEqual([]);
    const events = await api('GET', `/users/${user.body.id}/events`, { token: admin });
    const changes = events.body.items.filter((e: { type: string }) => e.type === 'roles_changed');
    expect(changes.map((e: { metadata: { action: string } }) => e.metadata.action)).toEqual(['user.role.remove', 'user.role.add']);
    expect(changes[0].metadata).toMatchObject({ actorType: 'client', actorId: 'ops', role: 'editor' });
    expect(JSON.stringify(events.body)).not.toContain('erin@');
  });

  it('authorizes user tokens by the permissions their roles grant', async () => {
    await api('POST', '/users', { token: admin, body: { email: 'root@example.test', password: PASSWORD, emailVerified: true, roles: ['admin'] } });
    await api('POST', '/users', { token: admin, body: { email: 'plain@example.test', password: PASSWORD, emailVerified: true } });
    const c = await api('POST', '/clients', {
      token: admin,
      body: { clientId: 'console', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scope: 'openid admin:users:read admin:users:write' },
    });
    const rp = await oidc.discovery(new URL(srv.issuer), 'console', c.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    const audience = srv.config.admin.audience;
    const rootToken = (await userLogin(rp, 'root@example.test', 'openid admin:users:read', audience)).access_token;
    const list = await api('GET', '/users?email=root', { token: rootToken });
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.items.map((u: { email: string }) => u.email)).toEqual(['root@example.test']);
    // Granted admin:users:read only: writing needs admin:users:write even though the role has it.
    expectProblem(await api('POST', '/users', { token: rootToken, body: { email: 'x@example.test' } }), 403, 'insufficient_permission');
    const plainToken = (await userLogin(rp, 'plain@example.test', 'openid admin:users:read', audience)).access_token;
    expectProblem(await api('GET', '/users', { token: plainToken }), 403);
  });

  it('answers 401 without or with a bad token and 403 without the permission', async () => {
    const none = await api('GET', '/users');
    expectProblem(none, 401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="admin"');
    expectProblem(await api('GET', '/users', { token: 'not.a.jwt' }), 401, 'invalid_token');
    expectProblem(await api('GET', '/users', { token: `${admin.slice(0, -4)}AAAA` }), 401, 'invalid_token');
    // A real token from us, for another audience.
    const cfg = await oidc.discovery(new URL(srv.issuer), 'ops', 'ops-secret-0123456789abcdefghij', undefined, { execute: [oidc.allowInsecureRequests] });
    await createClient(srv.db.prisma, { id: 'poster', secret: 'poster-secret-0123456789abcdef', redirectUris: [], grantTypes: ['client_credentials'], scope: 'write:post' });
    const other = await oidc.clientCredentialsGrant(
      await oidc.discovery(new URL(srv.issuer), 'poster', 'poster-secret-0123456789abcdef', undefined, { execute: [oidc.allowInsecureRequests] }),
      { scope: 'write:post', resource: POSTS },
    );
    expect(cfg).toBeTruthy();
    expectProblem(await api('GET', '/users', { token: other.access_token }), 401, 'invalid_token');

    expect((await api('GET', '/users', { token: reader })).status).toBe(200);
    const denied = await api('POST', '/roles', { token: reader, body: { name: 'nope' } });
    expectProblem(denied, 403, 'insufficient_permission');
    expect(denied.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect((await api('GET', '/roles/nope', { token: admin })).status).toBe(404);
  });

  it('rejects unknown fields, overlong values, wrong types and bodies that are not JSON', async () => {
    const unknown = await api('POST', '/roles', { token: admin, body: { name: 'ok', colour: 'red' } });
    expectProblem(unknown, 400, 'validation_failed');
    expect(unknown.body.errors[0]).toMatchObject({ in: 'body' });
    expect(unknown.body.errors[0].message).toMatch(/colour/);
    expectProblem(await api('POST', '/roles', { token: admin, body: { name: 'r'.repeat(65) } }), 400, 'validation_failed');
    expectProblem(await api('POST', '/users', { token: admin, body: { email: `${'a'.repeat(250)}@example.test` } }), 400);
    expectProblem(await api('POST', '/permissions', { token: admin, body: { name: 'has space' } }), 400);
    expectProblem(await api('GET', '/users?limit=1000', { token: admin }), 400);
    expectProblem(await api('GET', '/users?colour=red', { token: admin }), 400);
    expectProblem(await api('GET', '/users/not-a-uuid', { token: admin }), 400);
    expectProblem(await api('POST', '/roles', { token: admin, raw: '{"name":', contentType: 'application/json' }), 400);
    expectProblem(await api('POST', '/roles', { token: admin, raw: 'name=x', contentType: 'application/x-www-form-urlencoded' }), 415);
    expectProblem(await api('POST', '/users', { token: admin, body: { email: 'weak@example.test', password: 'password1234' } }), 400, 'weak_password');
    expectProblem(await api('GET', '/nowhere', { token: admin }), 404);
    expectProblem(await api('PATCH', '/users', { token: admin, body: {} }), 405);
    // Nothing was written by any of them.
    expect(await srv.db.prisma.role.count({ where: { name: 'ok' } })).toBe(0);
    expect(await srv.db.prisma.user.count({ where: { email: 'weak@example.test' } })).toBe(0);
  });

  it('writes nothing when one part of a change fails', async () => {
    const r = await api('POST', '/roles', { token: admin, body: { name: 'half', permissions: ['read:post', 'no:such'] } });
    expectProblem(r, 422, 'unknown_permission');
    expect(r.body.detail).toContain('no:such');
    expect(await srv.db.prisma.role.count({ where: { name: 'half' } })).toBe(0);
    const u = await api('POST', '/users', { token: admin, body: { email: 'half@example.test', roles: ['user', 'ghost'] } });
    expectProblem(u, 422, 'unknown_role');
    expect(await srv.db.prisma.user.count({ where: { email: 'half@example.test' } })).toBe(0);
    expectProblem(await api('POST', '/users', { token: admin, body: { email: 'erin@example.test' } }), 409, 'conflict');
  });

  it('refuses to delete a role in use, saying so, and deletes it once unassigned', async () => {
    await api('POST', '/roles', { token: admin, body: { name: 'manager' } });
    const u = await api('POST', '/users', { token: admin, body: { email: 'mia@example.test', roles: ['manager'] } });
    const refused = await api('DELETE', '/roles/manager', { token: admin });
    expectProblem(refused, 409, 'role_in_use');
    expect(refused.body.detail).toMatch(/assigned to 1 user/);
    expect((await api('GET', '/roles/manager', { token: admin })).body.userCount).toBe(1);
    expectProblem(await api('DELETE', '/roles/admin', { token: admin }), 409, 'role_builtin');
    expectProblem(await api('DELETE', '/permissions/write:post', { token: admin }), 409, 'permission_in_use');
    await api('DELETE', `/users/${u.body.id}/roles/manager`, { token: admin });
    expect((await api('DELETE', '/roles/manager', { token: admin })).status).toBe(204);
    expect((await api('GET', '/roles/manager', { token: admin })).status).toBe(404);
  });

  it('pages with signed cursors and refuses forged, foreign and stale ones', async () => {
    for (let i = 0; i < 5; i++) await api('POST', '/users', { token: admin, body: { email: `page${i}@example.test` } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/users?email=page&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await api('GET', q, { token: reader });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      seen.push(...r.body.items.map((u: { email: string }) => u.email));
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `page${i}@example.test`));

    const first = (await api('GET', '/users?email=page&limit=2', { token: reader })).body.nextCursor as string;
    const [body, sig] = first.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), p: ['1970-01-01T00:00:00.000Z', '0'] })).toString('base64url');
    for (const bad of [`${forgedBody}.${sig}`, `${body}.${sig.slice(0, -2)}xx`, 'garbage', `${body}.${sig}.x`]) {
      expectProblem(await api('GET', `/users?email=page&limit=2&cursor=${encodeURIComponent(bad)}`, { token: reader }), 400, 'invalid_cursor');
    }
    // A cursor made for other filters.
    expectProblem(await api('GET', `/users?email=pag&limit=2&cursor=${encodeURIComponent(first)}`, { token: reader }), 400, 'invalid_cursor');
    // A stale one: signed with the right key two hours ago.
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() - 2 * 3600_000);
    const stale = signCursor(srv.config.hmacKey, 'users', { email: 'page' }, [new Date().toISOString(), '00000000-0000-0000-0000-000000000000']);
    vi.restoreAllMocks();
    const r = await api('GET', `/users?email=page&limit=2&cursor=${encodeURIComponent(stale)}`, { token: reader });
    expectProblem(r, 400, 'invalid_cursor');
    expect(r.body.detail).toMatch(/expired/);
  });

  it('suspends (ending sessions and refresh tokens), reactivates and deletes users with events', async () => {
    const c = await api('POST', '/clients', {
      token: admin,
      body: { clientId: 'suspend-app', redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'], scope: 'openid offline_access read:post' },
    });
    const rp = await oidc.discovery(new URL(srv.issuer), 'suspend-app', c.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    const u = await api('POST', '/users', { token: admin, body: { email: 'sam@example.test', password: PASSWORD, emailVerified: true } });
    const tokens = await userLogin(rp, 'sam@example.test', 'openid offline_access read:post', POSTS);
    const sessions = await api('GET', `/users/${u.body.id}/sessions`, { token: reader });
    expect(sessions.body.items).toHaveLength(1);
    expect(sessions.body.items[0].clients).toEqual(['suspend-app']);

    const s = await api('POST', `/users/${u.body.id}/suspend`, { token: admin });
    expect(s.body).toMatchObject({ status: 'suspended', changed: true, sessions: 1 });
    expect(s.body.grants).toBeGreaterThan(0);
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!, { resource: POSTS })).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await api('GET', `/users/${u.body.id}/sessions`, { token: reader })).body.items).toHaveLength(0);
    expect((await api('POST', `/users/${u.body.id}/reactivate`, { token: admin })).body).toMatchObject({ status: 'active', changed: true });
    const ev = await api('GET', `/users/${u.body.id}/events`, { token: reader });
    const status = ev.body.items.filter((e: { type: string }) => e.type === 'status_changed');
    expect(status.map((e: { metadata: { to: string } }) => e.metadata.to)).toEqual(['active', 'suspended']);
    expect(status[1].metadata).toMatchObject({ actorType: 'client', actorId: 'ops' });

    expect((await api('PUT', `/users/${u.body.id}/password`, { token: admin, body: { password: 'another long passphrase 43' } })).status).toBe(200);
    const patched = await api('PATCH', `/users/${u.body.id}`, { token: admin, body: { firstName: 'Sam', email: 'samuel@example.test' } });
    expect(patched.body).toMatchObject({ firstName: 'Sam', email: 'samuel@example.test', emailVerified: false });
    expect((await api('DELETE', `/users/${u.body.id}`, { token: admin })).status).toBe(204);
    expect((await api('GET', `/users/${u.body.id}`, { token: reader })).status).toBe(404);
    const gone = await srv.db.prisma.accountEvent.findFirst({ where: { type: 'user_deleted' } });
    expect(gone?.metadata).toMatchObject({ userId: u.body.id, actorType: 'client', actorId: 'ops' });
  });

  it('rotates client secrets (shown once), updates and deletes clients; lists and rotates keys', async () => {
    const c = await api('POST', '/clients', { token: admin, body: { grantTypes: ['client_credentials'], scope: 'read:post' } });
    const id = c.body.clientId as string;
    expect((await api('GET', `/clients/${id}`, { token: admin })).body).not.toHaveProperty('clientSecret');
    const listed = await api('GET', '/clients?limit=100', { token: admin });
    expect(JSON.stringify(listed.body)).not.toContain(c.body.clientSecret);
    const rotated = await api('POST', `/clients/${id}/secret`, { token: admin });
    expect(rotated.body.clientSecret).not.toBe(c.body.clientSecret);
    const cfg = (secret: string) => oidc.discovery(new URL(srv.issuer), id, secret, undefined, { execute: [oidc.allowInsecureRequests] });
    await expect(oidc.clientCredentialsGrant(await cfg(c.body.clientSecret), { scope: 'read:post', resource: POSTS })).rejects.toBeTruthy();
    expect((await oidc.clientCredentialsGrant(await cfg(rotated.body.clientSecret), { scope: 'read:post', resource: POSTS })).access_token).toBeTruthy();
    expectProblem(await api('PATCH', `/clients/${id}`, { token: admin, body: { grantTypes: ['authorization_code'] } }), 400, 'invalid_client_metadata');
    expect((await api('PATCH', `/clients/${id}`, { token: admin, body: { name: 'Renamed' } })).body.name).toBe('Renamed');
    expect((await api('DELETE', `/clients/${id}`, { token: admin })).status).toBe(204);
    expect((await api('GET', `/clients/${id}`, { token: admin })).status).toBe(404);

    const own = (await api('GET', '/resource-servers?limit=100', { token: admin })).body.items.find((r: { identifier: string }) => r.identifier === srv.config.admin.audience);
    expectProblem(await api('DELETE', `/resource-servers/${own.id}`, { token: admin }), 409, 'resource_managed');

    const keys = await api('GET', '/keys', { token: admin });
    expect(keys.body.items.filter((k: { status: string }) => k.status === 'active')).toHaveLength(2);
    expect(JSON.stringify(keys.body)).not.toMatch(/"d"|privateJwk/);
    const rot = await api('POST', '/keys/rotate', { token: admin });
    expect(rot.body.created).toHaveLength(2);
    // Tokens signed before the rotation keep working.
    expect((await api('GET', '/users?limit=1', { token: reader })).status).toBe(200);
  });

  it('serves a valid OpenAPI 3.1 document listing every route the router serves', async () => {
    const res = await fetch(`${srv.issuer}/admin/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);

    const router = adminRouter({ config: srv.config, logger: createLogger('silent'), prisma: srv.db.prisma, revokeGrant: async () => {} });
    const served = router.stack
      .map((l) => ({ path: String(l.path), methods: l.methods }))
      .filter((l) => l.methods.length && !l.path.endsWith('/openapi.json') && !l.path.includes('*'))
      .flatMap((l) => l.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${l.path.slice(ADMIN_PREFIX.length).replace(/:(\w+)/g, '{$1}')}`));
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(served.length).toBeGreaterThan(30);
    expect(new Set(documented)).toEqual(new Set(served));
  });
});
