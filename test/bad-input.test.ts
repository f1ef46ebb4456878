// Malformed requests to every endpoint answer 4xx with OAuth error JSON or the HTML error page:
// never a 500, never a stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.ts';
import { Agent } from './support/agent.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let srv: TestServer;
const basic = `Basic ${Buffer.from('app:app-secret-0123456789abcdef').toString('base64')}`;
const form = 'application/x-www-form-urlencoded';

interface Case {
  name: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  status: number | number[];
  json?: boolean;
}

const cases: Case[] = [
  { name: 'auth without parameters', path: '/auth', status: 400 },
  { name: 'auth with unknown client', path: '/auth?client_id=nope&response_type=code&scope=openid&redirect_uri=http://x/cb', status: 400 },
  { name: 'auth with an unregistered redirect_uri', path: '/auth?client_id=app&response_type=code&scope=openid&redirect_uri=http://evil.test/cb', status: 400 },
  { name: 'auth with a 10 kB parameter', path: `/auth?client_id=${'a'.repeat(10_000)}`, status: [400, 414] },
  { name: 'auth with broken percent-encoding', path: '/auth?client_id=%E0%A4%A&scope=%ZZ', status: 400 },
  { name: 'token without grant_type', path: '/token', method: 'POST', headers: { 'content-type': form, authorization: basic }, body: 'foo=bar', status: 400, json: true },
  { name: 'token with unsupported grant_type', path: '/token', method: 'POST', headers: { 'content-type': form, authorization: basic }, body: 'grant_type=password&username=a&password=b', status: 400, json: true },
  { name: 'token with JSON body', path: '/token', method: 'POST', headers: { 'content-type': 'application/json', authorization: basic }, body: '{"grant_type":"client_credentials"}', status: 400, json: true },
  { name: 'token with invalid UTF-8', path: '/token', method: 'POST', headers: { 'content-type': form, authorization: basic }, body: Uint8Array.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x3d, 0xff, 0xfe]), status: 400, json: true },
  { name: 'token with a forged code', path: '/token', method: 'POST', headers: { 'content-type': form, authorization: basic }, body: 'grant_type=authorization_code&code=forged&redirect_uri=http://rp.test/cb&code_verifier=' + 'a'.repeat(43), status: 400, json: true },
  { name: 'token with a forged refresh token', path: '/token', method: 'POST', headers: { 'content-type': form, authorization: basic }, body: 'grant_type=refresh_token&refresh_token=forged', status: 400, json: true },
  { name: 'token with a malformed Basic header', path: '/token', method: 'POST', headers: { 'content-type': form, authorization: 'Basic !!!' }, body: 'grant_type=client_credentials', status: [400, 401], json: true },
  { name: 'token with a 2 MB body', path: '/token', method: 'POST', headers: { 'content-type': form, authorization: basic }, body: `grant_type=client_credentials&x=${'a'.repeat(2_000_000)}`, status: [400, 413], json: false },
  { name: 'userinfo with a forged token', path: '/me', headers: { authorization: 'Bearer forged' }, status: 401, json: true },
  { name: 'userinfo without a token', path: '/me', status: [400, 401], json: true },
  { name: 'introspection without client auth', path: '/token/introspection', method: 'POST', headers: { 'content-type': form }, body: 'token=x', status: [400, 401], json: true },
  { name: 'introspection without token', path: '/token/introspection', method: 'POST', headers: { 'content-type': form, authorization: basic }, body: '', status: 400, json: true },
  { name: 'revocation without client auth', path: '/token/revocation', method: 'POST', headers: { 'content-type': form }, body: 'token=x', status: [400, 401], json: true },
  { name: 'end_session with a forged id_token_hint', path: '/session/end?id_token_hint=forged.jwt.value', status: 400 },
  { name: 'end_session confirm without xsrf', path: '/session/end/confirm', method: 'POST', headers: { 'content-type': form }, body: 'logout=yes', status: 400 },
  { name: 'interaction with an invalid uid', path: '/interaction/<script>', status: 400 },
  { name: 'interaction without a cookie', path: '/interaction/abcdefghijklmnop', status: 400 },
  { name: 'login post without interaction', path: '/interaction/abcdefghijklmnop/login', method: 'POST', headers: { 'content-type': form }, body: 'login=a&password=b', status: 400 },
  { name: 'login post with a JSON body', path: '/interaction/abcdefghijklmnop/login', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', status: [400, 415] },
  { name: 'an unknown path', path: '/nothing-here', status: 404 },
  { name: 'jwks with POST', path: '/jwks', method: 'POST', status: [404, 405] },
];

describe('bad input', () => {
  beforeAll(async () => {
    srv = await startTestServer('badinput');
    await createClient(srv.db.prisma, {
      id: 'app',
      secret: 'app-secret-0123456789abcdef',
      redirectUris: ['http://rp.test/cb'],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'openid email',
    });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  for (const c of cases) {
    it(`${c.name}: ${Array.isArray(c.status) ? c.status.join('/') : c.status}`, async () => {
      const res = await fetch(`${srv.issuer}${c.path}`, {
        method: c.method ?? 'GET',
        headers: { accept: c.json ? 'application/json' : 'text/html', ...c.headers },
        body: c.body,
        redirect: 'manual',
      });
      const text = await res.text();
      const allowed = Array.isArray(c.status) ? c.status : [c.status];
      expect(allowed, `${res.status}: ${text.slice(0, 300)}`).toContain(res.status);
      expect(text).not.toMatch(/\bat .+\.(ts|js):\d+:\d+/);
      expect(text).not.toMatch(/oops! something went wrong/);
      if (c.json && res.status !== 413) {
        const body = JSON.parse(text) as { error?: string; code?: string };
        expect(body.error ?? body.code).toBeTruthy();
      }
    });
  }

  it('refuses a login form post without the CSRF field', async () => {
    const agent = new Agent();
    const start = await agent.follow(
      `${srv.issuer}/auth?client_id=app&response_type=code&scope=openid&redirect_uri=http://rp.test/cb&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
      srv.issuer,
    );
    expect(start.status).toBe(200);
    const action = start.body.match(/action="([^"]+\/login)"/)![1];
    const res = await agent.submit(start.url, action, { login: 'x@example.test', password: 'whatever-password' });
    expect(res.status).toBe(403);
    expect(res.body).toContain('The form expired or was sent from another site');
  });

  it('sets security headers on the hosted pages', async () => {
    const agent = new Agent();
    const page = await agent.follow(
      `${srv.issuer}/auth?client_id=app&response_type=code&scope=openid&redirect_uri=http://rp.test/cb&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
      srv.issuer,
    );
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).toContain('form-action');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
