// With PostgreSQL or Redis gone, requests answer 503 (never 500), and the server recovers by
// itself when they come back. The server reaches both through TCP proxies the test cuts.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.ts';
import { createResourceServer } from '../src/services/resources.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { startTestServer, waitForScope, type TestServer } from './support/server.ts';
import { createThrowawayDatabase, type ThrowawayDb } from './support/backends.ts';

const skip = !DATABASE_URL || !REDIS_URL;

async function waitFor(fn: () => Promise<boolean>, ms = 15_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

describe.skipIf(skip)(`outages${skip ? ' (SKIPPED: needs DATABASE_URL and REDIS_URL)' : ''}`, () => {
  let srv: TestServer;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let db: ThrowawayDb;
  let svc: oidc.Configuration;

  beforeAll(async () => {
    db = await createThrowawayDatabase(DATABASE_URL!, 'faults');
    const pgu = new URL(db.url);
    const ru = new URL(REDIS_URL!);
    pgProxy = await startTcpProxy(pgu.hostname, Number(pgu.port || 5432));
    redisProxy = await startTcpProxy(ru.hostname, Number(ru.port || 6379));
    pgu.hostname = '127.0.0.1';
    pgu.port = String(pgProxy.port);
    ru.hostname = '127.0.0.1';
    ru.port = String(redisProxy.port);
    srv = await startTestServer('faults', {
      usePostgres: false,
      useRedis: true,
      env: { DATABASE_URL: pgu.toString(), REDIS_URL: ru.toString() },
    });
    await createResourceServer(srv.db.prisma, { identifier: 'https://api.faults.test', scope: 'read' });
    await waitForScope(srv.issuer, 'read');
    await createClient(srv.db.prisma, { id: 'svc', secret: 'svc-secret-0123456789abcdef', redirectUris: [], grantTypes: ['client_credentials'], scope: 'read' });
    svc = await oidc.discovery(new URL(srv.issuer), 'svc', 'svc-secret-0123456789abcdef', undefined, { execute: [oidc.allowInsecureRequests] });
  });

  afterAll(async () => {
    await srv?.stop();
    await pgProxy?.close();
    await redisProxy?.close();
    await db?.drop();
  });

  async function tokenStatus() {
    const res = await fetch(`${srv.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('svc:svc-secret-0123456789abcdef').toString('base64')}` },
      body: 'grant_type=client_credentials&scope=read',
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('answers 503 while Redis is down and recovers when it returns', async () => {
    expect((await tokenStatus()).status).toBe(200);
    redisProxy.down();
    const during = await tokenStatus();
    expect(during.status).toBe(503);
    expect(during.body.error).toBe('temporarily_unavailable');
    const ready = await fetch(`${srv.issuer}/readyz`);
    expect(ready.status).toBe(503);
    redisProxy.up();
    expect(await waitFor(async () => (await tokenStatus()).status === 200)).toBe(true);
    await oidc.clientCredentialsGrant(svc, { scope: 'read' });
  });

  it('answers 503 while PostgreSQL is down and recovers when it returns', async () => {
    pgProxy.down();
    const ready = await fetch(`${srv.issuer}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.database).toBe('down');
    // A client not yet cached needs the database.
    const res = await fetch(`${srv.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('other:secret').toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).not.toMatch(/at .*\.(ts|js):\d+/);
    pgProxy.up();
    expect(await waitFor(async () => (await fetch(`${srv.issuer}/readyz`)).status === 200)).toBe(true);
    const after = await fetch(`${srv.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('other:secret').toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(after.status).toBe(401);
  });
});
