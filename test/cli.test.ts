// The CLI against a running server, in both storage modes: what it creates is usable at once,
// without a restart; key rotation keeps old tokens verifiable.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import { startTestServer, waitForScope, type TestServer } from './support/server.ts';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

async function cli(srv: TestServer, args: string[]) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATA_DIR: srv.dataDir, LOG_LEVEL: 'silent' };
  if (srv.env.DATABASE_URL) env.DATABASE_URL = srv.env.DATABASE_URL;
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: ROOT, env });
    return { code: 0, json: JSON.parse(stdout) as Record<string, unknown> & unknown[], stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string; stdout: string };
    return { code: e.code, json: undefined, stderr: e.stderr };
  }
}

async function waitFor(fn: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

const modes = [
  { name: 'embedded PGlite (through the server socket)', usePostgres: false, skip: false },
  { name: 'PostgreSQL', usePostgres: true, skip: !DATABASE_URL },
];

for (const mode of modes) {
  describe.skipIf(mode.skip)(`CLI while the server runs: ${mode.name}${mode.skip ? ' (SKIPPED: DATABASE_URL not set)' : ''}`, () => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startTestServer(`cli${mode.usePostgres ? 'pg' : 'lite'}`, { embeddedOnDisk: true, usePostgres: mode.usePostgres, useRedis: !!REDIS_URL });
    });
    afterAll(async () => {
      await srv?.stop();
    });

    it('creates a resource and a client the running server accepts at once', async () => {
      const rs = await cli(srv, ['resource', 'create', '--identifier', 'https://api.cli.test', '--scope', 'read write']);
      expect(rs.code, rs.stderr).toBe(0);
      await waitForScope(srv.issuer, 'write');
      const c = await cli(srv, ['client', 'create', '--id', 'cli-svc', '--secret', 'cli-secret-0123456789abcdef', '--grant-types', 'client_credentials', '--scope', 'read']);
      expect(c.code, c.stderr).toBe(0);
      expect(c.json).toMatchObject({ client_id: 'cli-svc', public: false });
      expect(JSON.stringify(c.json)).not.toContain('cli-secret');
      const cfg = await oidc.discovery(new URL(srv.issuer), 'cli-svc', 'cli-secret-0123456789abcdef', undefined, { execute: [oidc.allowInsecureRequests] });
      const t = await oidc.clientCredentialsGrant(cfg, { scope: 'read', resource: 'https://api.cli.test' });
      const { payload } = await jwtVerify(t.access_token, createRemoteJWKSet(new URL(`${srv.issuer}/jwks`)), { audience: 'https://api.cli.test' });
      expect(payload.client_id).toBe('cli-svc');
    });

    it('creates users and refuses bad input with a clear message and exit code', async () => {
      const u = await cli(srv, ['user', 'create', '--email', 'Dave@Example.test', '--password', 'a long enough password', '--username', 'dave', '--verified']);
      expect(u.code, u.stderr).toBe(0);
      expect(u.json).toMatchObject({ email: 'dave@example.test', username: 'dave', emailVerified: true });
      expect(JSON.stringify(u.json)).not.toContain('argon2');
      const dup = await cli(srv, ['user', 'create', '--email', 'dave@example.test', '--password', 'a long enough password']);
      expect(dup.code).toBe(2);
      expect(dup.stderr).toContain('already exists');
      const short = await cli(srv, ['user', 'create', '--email', 'eve@example.test', '--password', 'short']);
      expect(short.code).toBe(2);
      expect(short.stderr).toContain('at least 12');
      const badUri = await cli(srv, ['client', 'create', '--id', 'x', '--redirect-uri', 'not a uri']);
      expect(badUri.code).toBe(2);
      expect(badUri.stderr).toMatch(/redirect_uris/);
      const unknown = await cli(srv, ['frobnicate']);
      expect(unknown.code).toBe(2);
    });

    it('rotates signing keys; tokens signed before keep verifying, new ones use the new key', async () => {
      await cli(srv, ['resource', 'create', '--identifier', 'https://api.rot.test', '--scope', 'read']);
      await cli(srv, ['client', 'create', '--id', 'rot', '--secret', 'rot-secret-0123456789abcdef', '--grant-types', 'client_credentials', '--scope', 'read']);
      const cfg = await oidc.discovery(new URL(srv.issuer), 'rot', 'rot-secret-0123456789abcdef', undefined, { execute: [oidc.allowInsecureRequests] });
      const before = await oidc.clientCredentialsGrant(cfg, { scope: 'read', resource: 'https://api.rot.test' });
      const oldKid = decodeProtectedHeader(before.access_token).kid;
      const r = await cli(srv, ['keys', 'rotate']);
      expect(r.code, r.stderr).toBe(0);
      expect((r.json as unknown as { retired: string[] }).retired).toContain(oldKid);
      // Running servers reload the keys through the change feed.
      const reloaded = await waitFor(async () => {
        const t = await oidc.clientCredentialsGrant(cfg, { scope: 'read', resource: 'https://api.rot.test' });
        return decodeProtectedHeader(t.access_token).kid !== oldKid;
      });
      expect(reloaded).toBe(true);
      const jwks = createRemoteJWKSet(new URL(`${srv.issuer}/jwks`), { cooldownDuration: 0 });
      await jwtVerify(before.access_token, jwks, { audience: 'https://api.rot.test' });
      const keys = (await cli(srv, ['keys', 'list'])).json as unknown as { status: string }[];
      expect(keys.filter((k) => k.status === 'active')).toHaveLength(2);
      expect(keys.filter((k) => k.status === 'retired').length).toBeGreaterThanOrEqual(2);
    });
  });
}
