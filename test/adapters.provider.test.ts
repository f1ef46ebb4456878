// The adapters under a real oidc-provider: the token endpoint must see codes and refresh tokens
// as one-time, detect reuse and revoke the grant, and clients must come from the database.
// Runs on PGlite with the in-process store, and on PGlite with Redis when REDIS_URL is set.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapterFactory, type AdapterFactory } from '../src/adapters/index.ts';
import { openPglite, type Database } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';

const REDIS_URL = process.env.REDIS_URL;
const REDIRECT = 'https://rp.example/cb';

function suite(withRedis: boolean) {
  let db: Database;
  let redis: Redis | undefined;
  let keyPrefix: string;
  let factory: AdapterFactory;
  let provider: Provider;
  let server: Server;
  let base: string;
  const client = { client_id: 'rp', client_secret: 'rp-secret-rp-secret-rp-secret-rp', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token', 'client_credentials'] };

  beforeAll(async () => {
    db = await openPglite('memory://');
    await migrate(db.sql);
    await db.sql.query(`INSERT INTO clients (id, payload, updated_at) VALUES ($1, $2::jsonb, now())`, [client.client_id, JSON.stringify(client)]);
    keyPrefix = `idsrv-test-${randomBytes(6).toString('hex')}:`;
    redis = withRedis ? new Redis(REDIS_URL!) : undefined;
    factory = createAdapterFactory({ db, redis, keyPrefix });
    provider = new Provider('http://localhost', {
      adapter: factory.Adapter,
      features: {
        clientCredentials: { enabled: true },
        registration: { enabled: true },
        revocation: { enabled: true },
        devInteractions: { enabled: false },
      },
      rotateRefreshToken: true,
      ttl: { AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, Grant: 3600, IdToken: 600, RefreshToken: 3600 },
      findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    });
    server = createServer(provider.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await factory?.close();
    if (redis) {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length) await Promise.all(keys.map((k) => redis!.del(k)));
      await redis.quit();
    }
    await db?.close();
  });

  async function token(form: Record<string, string>, auth = `${client.client_id}:${client.client_secret}`) {
    const res = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  async function issueCode() {
    const rp = await provider.Client.find(client.client_id);
    const grant = new provider.Grant({ accountId: 'acct-1', clientId: client.client_id });
    grant.addOIDCScope('openid offline_access');
    const grantId = await grant.save();
    const code = new provider.AuthorizationCode({
      client: rp!, accountId: 'acct-1', grantId, gty: 'authorization_code', scope: 'openid offline_access', redirectUri: REDIRECT,
      authTime: Math.floor(Date.now() / 1000),
    });
    return { grantId, code: await code.save() };
  }

  it('exchanges a code once; a concurrent second exchange fails and kills the grant', async () => {
    const { code, grantId } = await issueCode();
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT };
    const [a, b] = await Promise.all([token(form), token(form)]);
    expect([a.status, b.status].sort()).toEqual([200, 400]);
    const loser = a.status === 400 ? a : b;
    expect(loser.body.error).toBe('invalid_grant');
    expect(await provider.Grant.find(grantId)).toBeUndefined();
  });

  it('rotates refresh tokens and revokes the grant when a used one comes back', async () => {
    const { code, grantId } = await issueCode();
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(first.status).toBe(200);
    const second = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);

    const replay = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(replay.body.error).toBe('invalid_grant');
    // The thief's replay cost the legitimate holder the grant as well.
    const after = await token({ grant_type: 'refresh_token', refresh_token: second.body.refresh_token });
    expect(after.body.error).toBe('invalid_grant');
    expect(await provider.Grant.find(grantId)).toBeUndefined();
    expect(await provider.AccessToken.find(second.body.access_token)).toBeUndefined();
  });

  it('registers a client dynamically and serves it from the database', async () => {
    const res = await fetch(`${base}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], grant_types: ['client_credentials'], response_types: [] }),
    });
    expect(res.status).toBe(201);
    const reg = (await res.json()) as { client_id: string; client_secret: string };
    const { rows } = await db.sql.query<{ dynamic: boolean }>('SELECT dynamic FROM clients WHERE id = $1', [reg.client_id]);
    expect(rows[0]?.dynamic).toBe(true);
    const cc = await token({ grant_type: 'client_credentials' }, `${reg.client_id}:${reg.client_secret}`);
    expect(cc.status).toBe(200);
  });
}

describe('adapters under oidc-provider: PGlite + in-process store', () => suite(false));
describe.skipIf(!REDIS_URL)(
  REDIS_URL ? 'adapters under oidc-provider: PGlite + Redis' : 'adapters under oidc-provider: PGlite + Redis [SKIPPED: REDIS_URL not set]',
  () => suite(true),
);
