// One contract for the provider's persistence, run on every pairing of a long-lived backend
// (PGlite, PostgreSQL) with a short-lived one (process memory, Redis). PostgreSQL and Redis
// pairings run when DATABASE_URL / REDIS_URL are set and say so in their names when skipped.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256hex } from '../src/adapters/codec.ts';
import { createAdapterFactory, MemoryStore, RedisStore, type AdapterFactory } from '../src/adapters/index.ts';
import { createChangeFeed, type ChangeFeed } from '../src/db/change-feed.ts';
import { openPglite, openPostgres, type Database } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

interface Backend {
  db: Database;
  factory: AdapterFactory;
  /** The short-lived store on its own, for the lookups only Session uses (routed to the database). */
  shortAdapter(model: string): Adapter;
  /** Every key and value the short-lived store holds, as text. */
  shortDump(): Promise<string>;
  /** Runs SQL past the adapter: on another connection where the backend has more than one. */
  sqlBehindTheBack(text: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

type LongKind = 'pglite' | 'postgres';
type ShortKind = 'memory' | 'redis';

async function openLong(kind: LongKind) {
  if (kind === 'pglite') {
    const db = await openPglite('memory://');
    await migrate(db.sql);
    return {
      db,
      feed: undefined as ChangeFeed | undefined,
      // A single connection: the write still bypasses the adapter and its cache.
      sqlBehindTheBack: async (text: string, params?: unknown[]) => void (await db.sql.query(text, params)),
      close: () => db.close(),
    };
  }
  const name = `idsrv_adapt_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(DATABASE_URL!);
  url.pathname = `/${name}`;
  const db = await openPostgres(url.toString(), 5);
  await migrate(db.sql);
  const feed = await createChangeFeed(db, url.toString());
  const other = new pg.Client({ connectionString: url.toString() });
  await other.connect();
  return {
    db,
    feed,
    sqlBehindTheBack: async (text: string, params?: unknown[]) => void (await other.query(text, params)),
    async close() {
      await other.end();
      await feed.close();
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function openBackend(longKind: LongKind, shortKind: ShortKind): Promise<Backend> {
  const long = await openLong(longKind);
  if (shortKind === 'memory') {
    const memory = new MemoryStore();
    const factory = createAdapterFactory({ db: long.db, memory, changeFeed: long.feed });
    return {
      db: long.db,
      factory,
      shortAdapter: (model) => memory.adapter(model),
      shortDump: async () => memory.dump().flat().join('\n'),
      sqlBehindTheBack: long.sqlBehindTheBack,
      async close() {
        await factory.close();
        await memory.close();
        await long.close();
      },
    };
  }
  const redis = new Redis(REDIS_URL!);
  const keyPrefix = `idsrv-test-${randomBytes(6).toString('hex')}:`;
  const factory = createAdapterFactory({ db: long.db, redis, keyPrefix, changeFeed: long.feed });
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };
  return {
    db: long.db,
    factory,
    shortAdapter: (model) => new RedisStore(redis, keyPrefix).adapter(model),
    async shortDump() {
      const out: string[] = [];
      for (const key of await keys()) {
        const type = await redis.type(key);
        const value =
          type === 'hash' ? await redis.hgetall(key) : type === 'set' ? await redis.smembers(key) : await redis.get(key);
        out.push(key, JSON.stringify(value));
      }
      return out.join('\n');
    },
    sqlBehindTheBack: long.sqlBehindTheBack,
    async close() {
      await factory.close();
      const left = await keys();
      if (left.length) await Promise.all(left.map((k) => redis.del(k)));
      await redis.quit();
      await long.close();
    },
  };
}

const now = () => Math.floor(Date.now() / 1000);
const tokenValue = () => randomBytes(32).toString('base64url');

function contract(open: () => Promise<Backend>) {
  let b: Backend;
  const A = (model: string) => new b.factory.Adapter(model);

  beforeAll(async () => {
    b = await open();
  });
  afterAll(async () => {
    await b?.close();
  });

  /** A grant row plus one refresh token, access token and authorization code issued under it. */
  async function grantWithTokens(clientId = 'client-a', ttl = 600) {
    const grantId = tokenValue().slice(0, 21);
    const base = { iat: now(), exp: now() + ttl, clientId, accountId: 'acct-1', grantId };
    const ids = { rt: tokenValue(), at: tokenValue(), ac: tokenValue() };
    await A('Grant').upsert(grantId, { iat: now(), exp: now() + ttl, kind: 'Grant', jti: grantId, clientId, accountId: 'acct-1' }, ttl);
    await A('RefreshToken').upsert(ids.rt, { ...base, kind: 'RefreshToken', jti: ids.rt }, ttl);
    await A('AccessToken').upsert(ids.at, { ...base, kind: 'AccessToken', jti: ids.at }, ttl);
    await A('AuthorizationCode').upsert(ids.ac, { ...base, kind: 'AuthorizationCode', jti: ids.ac }, ttl);
    return { grantId, ...ids };
  }

  async function present(g: { grantId: string; rt: string; at: string; ac: string }) {
    return {
      grant: !!(await A('Grant').find(g.grantId)),
      rt: !!(await A('RefreshToken').find(g.rt)),
      at: !!(await A('AccessToken').find(g.at)),
      ac: !!(await A('AuthorizationCode').find(g.ac)),
    };
  }

  async function longRows(): Promise<string> {
    const { rows } = await b.db.sql.query<{ j: string }>(
      `SELECT row_to_json(s)::text AS j FROM sessions s
       UNION ALL SELECT row_to_json(r)::text FROM refresh_tokens r
       UNION ALL SELECT row_to_json(g)::text FROM grants g`,
    );
    return rows.map((r) => r.j).join('\n');
  }

  const models = [
    'Session', 'Grant', 'RefreshToken', 'AccessToken', 'AuthorizationCode', 'ClientCredentials',
    'Interaction', 'PushedAuthorizationRequest', 'ReplayDetection', 'DeviceCode',
  ];

  it('gives back what was stored, with jti restored from the id', async () => {
    for (const kind of models) {
      const id = tokenValue();
      const payload: AdapterPayload = {
        iat: now(), exp: now() + 60, kind, jti: id, clientId: 'client-a', accountId: 'acct-1',
        grantId: 'g-roundtrip', uid: `uid-${id.slice(0, 10)}`, scope: 'openid email',
        extra: { nested: { a: [1, 2] } },
      };
      await A(kind).upsert(id, payload, 60);
      expect(await A(kind).find(id), kind).toEqual(payload);
    }
    expect(await A('AccessToken').find(tokenValue())).toBeUndefined();
  });

  it('never stores a token value, only its hash', async () => {
    const ids = new Map<string, string>();
    for (const kind of ['Session', 'RefreshToken', 'AccessToken', 'AuthorizationCode', 'Interaction', 'DeviceCode']) {
      const id = tokenValue();
      ids.set(kind, id);
      await A(kind).upsert(id, { iat: now(), exp: now() + 60, kind, jti: id, clientId: 'c', grantId: 'g-hash', uid: tokenValue(), userCode: kind === 'DeviceCode' ? 'WDJBMJHT' : undefined }, 60);
    }
    const stored = `${await longRows()}\n${await b.shortDump()}`;
    for (const [kind, id] of ids) {
      expect(stored.includes(id), `${kind} value found in storage`).toBe(false);
    }
    expect(stored).toContain(sha256hex(ids.get('RefreshToken')!));
    expect(stored).toContain(sha256hex(ids.get('Session')!));
  });

  it('links rows to a user only when accountId is an existing user', async () => {
    const userId = randomUUID();
    await b.db.sql.query(`INSERT INTO users (id, email, updated_at) VALUES ($1, $2, now())`, [userId, `${userId}@example.test`]);
    const real = tokenValue();
    const fake = tokenValue();
    const stranger = tokenValue();
    await A('Session').upsert(real, { exp: now() + 60, uid: tokenValue(), accountId: userId }, 60);
    await A('Session').upsert(fake, { exp: now() + 60, uid: tokenValue(), accountId: 'not-a-uuid' }, 60);
    await A('RefreshToken').upsert(stranger, { exp: now() + 60, grantId: 'g', clientId: 'c', accountId: randomUUID() }, 60);
    const userOf = async (table: string, col: string, id: string) =>
      (await b.db.sql.query<{ u: string | null }>(`SELECT user_id AS u FROM ${table} WHERE ${col} = $1`, [sha256hex(id)])).rows[0]?.u;
    expect(await userOf('sessions', 'id', real)).toBe(userId);
    expect(await userOf('sessions', 'id', fake)).toBeNull();
    expect(await userOf('refresh_tokens', 'token_hash', stranger)).toBeNull();
    expect((await A('Session').find(fake))?.accountId).toBe('not-a-uuid');
  });

  it('forgets artifacts once they expire', async () => {
    const ids = new Map(['Session', 'Grant', 'RefreshToken', 'AccessToken', 'AuthorizationCode', 'Interaction'].map((m) => [m, tokenValue()]));
    for (const [kind, id] of ids) {
      await A(kind).upsert(id, { iat: now(), exp: now() + 1, kind, jti: id, uid: tokenValue(), clientId: 'c', grantId: 'g-exp' }, 1);
      expect(await A(kind).find(id), `${kind} before expiry`).toBeDefined();
    }
    await sleep(1500);
    for (const [kind, id] of ids) expect(await A(kind).find(id), `${kind} after expiry`).toBeUndefined();
  });

  it('marks consumed artifacts', async () => {
    for (const kind of ['RefreshToken', 'AuthorizationCode', 'DeviceCode']) {
      const id = tokenValue();
      await A(kind).upsert(id, { iat: now(), exp: now() + 60, kind, jti: id, clientId: 'c', grantId: 'g-consume' }, 60);
      expect((await A(kind).find(id))?.consumed, kind).toBeUndefined();
      await A(kind).consume(id);
      const consumed = (await A(kind).find(id))?.consumed;
      expect(consumed, kind).toBeGreaterThanOrEqual(now() - 5);
      expect(consumed, kind).toBeLessThanOrEqual(now() + 1);
    }
  });

  for (const kind of ['RefreshToken', 'AuthorizationCode'] as const) {
    it(`lets exactly one of two concurrent ${kind} uses win, and revokes the grant for the loser`, async () => {
      const g = await grantWithTokens();
      const bystander = await grantWithTokens();
      const id = kind === 'RefreshToken' ? g.rt : g.ac;
      const results = await Promise.allSettled([A(kind).consume(id), A(kind).consume(id)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(errors.InvalidGrant);
      expect(await present(g)).toEqual({ grant: false, rt: false, at: false, ac: false });
      expect(await present(bystander)).toEqual({ grant: true, rt: true, at: true, ac: true });
    });
  }

  it('keeps a consumed mark when a stale copy is saved over it', async () => {
    for (const kind of ['RefreshToken', 'AuthorizationCode', 'DeviceCode']) {
      const id = tokenValue();
      const payload = { iat: now(), exp: now() + 60, kind, jti: id, clientId: 'c', grantId: 'g-stale' };
      await A(kind).upsert(id, payload, 60);
      const stale = await A(kind).find(id);
      await A(kind).consume(id);
      await A(kind).upsert(id, { ...stale, scope: 'changed' }, 60);
      const after = await A(kind).find(id);
      expect(after?.scope, kind).toBe('changed');
      expect(after?.consumed, kind).toBeTypeOf('number');
    }
  });

  it('rejects consuming an already consumed artifact', async () => {
    const g = await grantWithTokens();
    await A('RefreshToken').consume(g.rt);
    await expect(A('RefreshToken').consume(g.rt)).rejects.toMatchObject({
      error: 'invalid_grant',
      error_detail: 'refresh token already used',
    });
    const id = tokenValue();
    await A('PushedAuthorizationRequest').upsert(id, { exp: now() + 60, clientId: 'c' }, 60);
    await A('PushedAuthorizationRequest').consume(id);
    await expect(A('PushedAuthorizationRequest').consume(id)).rejects.toBeInstanceOf(errors.InvalidRequestUri);
  });

  it('revokes a grant\'s tokens in both stores from any token model, and nothing of other grants', async () => {
    const g1 = await grantWithTokens();
    const g2 = await grantWithTokens();
    const g3 = await grantWithTokens();
    await A('AccessToken').revokeByGrantId(g1.grantId);
    // The provider decides separately (revokeGrantPolicy) whether the grant row goes too.
    expect(await present(g1)).toEqual({ grant: true, rt: false, at: false, ac: false });
    expect(await present(g2)).toEqual({ grant: true, rt: true, at: true, ac: true });
    await A('RefreshToken').revokeByGrantId(g2.grantId);
    expect(await present(g2)).toEqual({ grant: true, rt: false, at: false, ac: false });
    await b.factory.revokeByGrantId(g1.grantId);
    await A('Grant').revokeByGrantId(g2.grantId);
    expect((await present(g1)).grant).toBe(false);
    expect((await present(g2)).grant).toBe(false);
    expect(await present(g3)).toEqual({ grant: true, rt: true, at: true, ac: true });
  });

  it('finds a session by uid, and the instance it yields can be saved and destroyed', async () => {
    const id = tokenValue();
    const uid = tokenValue().slice(0, 21);
    await A('Session').upsert(id, { iat: now(), exp: now() + 60, kind: 'Session', jti: id, uid, accountId: 'acct-1' }, 60);
    const found = await A('Session').findByUid(uid);
    expect(found).toMatchObject({ uid, accountId: 'acct-1' });
    // The id exists only as a hash; what stands in for it must not work as a cookie value.
    expect(found?.jti).not.toBe(id);
    expect(await A('Session').find(found!.jti!)).toBeUndefined();
    await A('Session').upsert(found!.jti!, { ...found, accountId: 'acct-2' }, 60);
    expect((await A('Session').find(id))?.accountId).toBe('acct-2');
    await A('Session').destroy(found!.jti!);
    expect(await A('Session').find(id)).toBeUndefined();
    expect(await A('Session').findByUid(uid)).toBeUndefined();
    expect(await A('Session').findByUid('no-such-uid')).toBeUndefined();
  });

  it('finds by uid in the short-lived store too', async () => {
    const id = tokenValue();
    const uid = tokenValue().slice(0, 21);
    const short = b.shortAdapter('Session');
    await short.upsert(id, { exp: now() + 60, kind: 'Session', jti: id, uid, accountId: 'acct-1' }, 60);
    const found = await short.findByUid(uid);
    expect(found?.accountId).toBe('acct-1');
    await short.destroy(found!.jti!);
    expect(await short.find(id)).toBeUndefined();
  });

  it('finds a device code by user code with its real value, so that saving it updates the one the device polls', async () => {
    const id = tokenValue();
    const userCode = `U${randomBytes(4).toString('hex').toUpperCase()}`;
    await A('DeviceCode').upsert(id, { iat: now(), exp: now() + 60, kind: 'DeviceCode', jti: id, userCode, clientId: 'c', grantId: 'g-dc' }, 60);
    const found = await A('DeviceCode').findByUserCode(userCode);
    expect(found?.jti).toBe(id);
    await A('DeviceCode').upsert(found!.jti!, { ...found, accountId: 'acct-1', inFlight: true }, 60);
    expect(await A('DeviceCode').find(id)).toMatchObject({ accountId: 'acct-1', inFlight: true });
    expect(await A('DeviceCode').findByUserCode('NOPE1234')).toBeUndefined();
  });

  it('destroys', async () => {
    for (const kind of models) {
      const id = tokenValue();
      await A(kind).upsert(id, { exp: now() + 60, kind, uid: tokenValue(), clientId: 'c', grantId: 'g-destroy' }, 60);
      await A(kind).destroy(id);
      expect(await A(kind).find(id), kind).toBeUndefined();
    }
  });

  describe('Client', () => {
    const clientRow = async (id: string) =>
      (await b.db.sql.query<{ dynamic: boolean }>('SELECT dynamic FROM clients WHERE id = $1', [id])).rows[0];

    async function eventually(check: () => Promise<boolean>, ms = 3000) {
      const until = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > until) throw new Error('condition not met in time');
        await sleep(25);
      }
    }

    it('stores dynamically registered clients', async () => {
      const id = `dyn-${tokenValue().slice(0, 8)}`;
      const metadata = { client_id: id, client_secret: 's3cret', redirect_uris: ['https://rp.example/cb'] };
      await A('Client').upsert(id, metadata);
      expect(await A('Client').find(id)).toEqual(metadata);
      expect((await clientRow(id))?.dynamic).toBe(true);
      await A('Client').upsert(id, { ...metadata, client_name: 'RP' });
      expect((await A('Client').find(id))?.client_name).toBe('RP');
      await A('Client').destroy(id);
      expect(await A('Client').find(id)).toBeUndefined();
    });

    it('caches client rows and drops them when the change feed reports a change', async () => {
      const id = `op-${tokenValue().slice(0, 8)}`;
      // Nothing there yet: the miss is cached too, and an insert elsewhere must end it.
      expect(await A('Client').find(id)).toBeUndefined();
      await b.sqlBehindTheBack(`INSERT INTO clients (id, payload, updated_at) VALUES ($1, $2::jsonb, now())`, [id, JSON.stringify({ client_id: id, v: 1 })]);
      await eventually(async () => (await A('Client').find(id))?.v === 1);

      // With the trigger off the change goes unannounced, so a cache hit still shows the old value.
      await sleep(200);
      expect((await A('Client').find(id))?.v).toBe(1);
      await b.sqlBehindTheBack(
        `DO $$ BEGIN SET LOCAL session_replication_role = replica; UPDATE clients SET payload = '{"client_id":"${id}","v":2}' WHERE id = '${id}'; END $$`,
      );
      expect((await A('Client').find(id))?.v).toBe(1);

      await b.sqlBehindTheBack(`UPDATE clients SET payload = $2::jsonb WHERE id = $1`, [id, JSON.stringify({ client_id: id, v: 3 })]);
      await eventually(async () => (await A('Client').find(id))?.v === 3);
      await b.sqlBehindTheBack(`DELETE FROM clients WHERE id = $1`, [id]);
      await eventually(async () => (await A('Client').find(id)) === undefined);
    });
  });
}

const skipped = (what: string, why: string) => `${what} [SKIPPED: ${why}]`;

describe('adapters: PGlite + in-process store', () => contract(() => openBackend('pglite', 'memory')));

describe.skipIf(!DATABASE_URL)(
  DATABASE_URL ? 'adapters: PostgreSQL + in-process store' : skipped('adapters: PostgreSQL + in-process store', 'DATABASE_URL not set'),
  () => contract(() => openBackend('postgres', 'memory')),
);

describe.skipIf(!REDIS_URL)(
  REDIS_URL ? 'adapters: PGlite + Redis' : skipped('adapters: PGlite + Redis', 'REDIS_URL not set'),
  () => contract(() => openBackend('pglite', 'redis')),
);

describe.skipIf(!DATABASE_URL || !REDIS_URL)(
  DATABASE_URL && REDIS_URL
    ? 'adapters: PostgreSQL + Redis'
    : skipped('adapters: PostgreSQL + Redis', `${[!DATABASE_URL && 'DATABASE_URL', !REDIS_URL && 'REDIS_URL'].filter(Boolean).join(' and ')} not set`),
  () => contract(() => openBackend('postgres', 'redis')),
);
