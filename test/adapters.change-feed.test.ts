// The change feed that keeps per-process caches honest: notifications per table on PGlite and on
// PostgreSQL, and on PostgreSQL a dropped LISTEN connection that comes back and flushes caches.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeFeed, type ChangeFeed } from '../src/db/change-feed.ts';
import { openPglite, openPostgres, type Database } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';

const DATABASE_URL = process.env.DATABASE_URL;

async function eventually(check: () => boolean | Promise<boolean>, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(20);
  }
}

function record(feed: ChangeFeed, table: string): string[] {
  const seen: string[] = [];
  feed.on(table, (id) => seen.push(id));
  return seen;
}

const insertClient = (id: string): [string, unknown[]] => [`INSERT INTO clients (id, payload, updated_at) VALUES ($1, '{}'::jsonb, now())`, [id]];

describe('change feed on PGlite', () => {
  let db: Database;
  let feed: ChangeFeed;
  beforeAll(async () => {
    db = await openPglite('memory://');
    await migrate(db.sql);
    feed = await createChangeFeed(db);
  });
  afterAll(async () => {
    await feed?.close();
    await db?.close();
  });

  it('reports inserts, updates and deletes per table, by primary key', async () => {
    const clients = record(feed, 'clients');
    const keys = record(feed, 'signing_keys');
    const id = 'https://rp.example/client:with:colons';
    await db.sql.query(...insertClient(id));
    await db.sql.query(`UPDATE clients SET dynamic = true WHERE id = $1`, [id]);
    await db.sql.query(`INSERT INTO signing_keys (kid, alg, private_jwk_enc) VALUES ('k1', 'ES256', 'x')`);
    await db.sql.query(`DELETE FROM clients WHERE id = $1`, [id]);
    await eventually(() => clients.length === 3 && keys.length === 1);
    expect(clients).toEqual([id, id, id]);
    expect(keys).toEqual(['k1']);
    expect(feed.live).toBe(true);
  });

  it('says nothing about a rolled-back change', async () => {
    const clients = record(feed, 'clients');
    await expect(db.sql.exec(`INSERT INTO clients (id, payload, updated_at) VALUES ('rb', '{}', now()); SELECT 1/0;`)).rejects.toThrow();
    await db.sql.query(...insertClient('after'));
    await eventually(() => clients.length > 0);
    expect(clients).toEqual(['after']);
  });
});

describe('change feed in a process on the server\'s PGlite socket', () => {
  it('does not listen, and says so', async () => {
    const feed = await createChangeFeed({ kind: 'pglite-socket' } as Database);
    expect(feed.live).toBe(false);
    await feed.close();
  });
});

describe.skipIf(!DATABASE_URL)(
  DATABASE_URL ? 'change feed on PostgreSQL' : 'change feed on PostgreSQL [SKIPPED: DATABASE_URL not set]',
  () => {
    const name = `idsrv_adapt_${randomBytes(6).toString('hex')}`;
    let url: string;
    let admin: pg.Client;
    let db: Database;
    let feed: ChangeFeed;
    const errors: Error[] = [];

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const u = new URL(DATABASE_URL!);
      u.pathname = `/${name}`;
      url = u.toString();
      db = await openPostgres(url, 2);
      await migrate(db.sql);
      feed = await createChangeFeed(db, url, { onError: (e) => errors.push(e), maxBackoffMs: 500 });
    });
    afterAll(async () => {
      await feed?.close();
      await db?.close();
      await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin?.end();
    });

    it('hears changes made on other connections', async () => {
      const clients = record(feed, 'clients');
      const id = randomUUID();
      await db.sql.query(...insertClient(id));
      await eventually(() => clients.includes(id));
    });

    it('reconnects after losing its connection, and tells caches to drop everything', async () => {
      const clients = record(feed, 'clients');
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name = 'idserver-change-feed'`,
        [name],
      );
      expect(rows).toHaveLength(1);
      await eventually(() => clients.includes('*'));
      await eventually(() => feed.live);
      const id = randomUUID();
      await db.sql.query(...insertClient(id));
      await eventually(() => clients.includes(id));
      expect(errors.length).toBeGreaterThan(0);
    });

    it('refuses a database it cannot reach at start', async () => {
      const u = new URL(url);
      u.pathname = `/${name}_missing`;
      await expect(createChangeFeed(db, u.toString())).rejects.toThrow(/does not exist/);
    });
  },
);
