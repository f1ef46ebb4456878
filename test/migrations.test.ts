// The committed migrations must produce exactly the schema that prisma/schema.prisma describes,
// on embedded PGlite and on real PostgreSQL, and the runner must be safe to re-run and to race.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prismaMigrationHistory, schemaDiffSql, type DiffDatabase } from '../scripts/lib/schema-diff.ts';
import { openPglite, openPostgres, type Database, type SqlRunner } from '../src/db/client.ts';
import { migrate, migrationStatus, readMigrations } from '../src/db/migrate.ts';

const committed = readMigrations();
const names = committed.map((m) => m.name);

async function expectRecorded(sql: SqlRunner, target: DiffDatabase) {
  const { rows } = await sql.query<{ migration_name: string; checksum: string; finished: boolean; applied_steps_count: number }>(
    'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
  );
  expect(rows).toEqual(committed.map((m) => ({ migration_name: m.name, checksum: m.checksum, finished: true, applied_steps_count: 1 })));
  expect(await migrationStatus(sql)).toEqual({ applied: names, pending: [], edited: [], failed: [] });
  // Prisma's own engine reads the same table: in sync, no checksum mismatch, nothing failed.
  expect(await prismaMigrationHistory(target)).toEqual({
    editedMigrationNames: [],
    failedMigrationNames: [],
    hasMigrationsTable: true,
    history: null,
  });
}

async function expectSeeded(sql: SqlRunner) {
  const { rows } = await sql.query<{ name: string }>('SELECT name FROM roles ORDER BY name');
  expect(rows.map((r) => r.name)).toEqual(['admin', 'user']);
}

/** Changes to the three cached tables, as seen by a listener on `idserver_cache`. */
async function expectNotifications(sql: SqlRunner, received: string[]) {
  // One transaction per statement: PostgreSQL folds identical notifications within a transaction.
  const steps = [
    `INSERT INTO signing_keys (kid, alg, private_jwk_enc) VALUES ('k1', 'RS256', 'x')`,
    `INSERT INTO clients (id, payload, updated_at) VALUES ('c1', '{}', now())`,
    `UPDATE clients SET id = 'c2' WHERE id = 'c1'`,
    `DELETE FROM signing_keys WHERE kid = 'k1'`,
    `DELETE FROM clients`,
    `INSERT INTO resource_servers (id, identifier) VALUES ('00000000-0000-4000-8000-000000000001', 'https://api')`,
    `DELETE FROM resource_servers`,
  ];
  for (const q of steps) await sql.query(q);
  const rs = 'resource_servers:00000000-0000-4000-8000-000000000001';
  const expected = ['signing_keys:k1', 'clients:c1', 'clients:c2', 'clients:c1', 'signing_keys:k1', 'clients:c2', rs, rs];
  await expect.poll(() => received, { timeout: 5000 }).toEqual(expected);
}

expect(names.length).toBeGreaterThanOrEqual(3);

describe('migrations on PGlite', () => {
  let db: Database;
  let target: DiffDatabase;
  beforeAll(async () => {
    db = await openPglite('memory://');
    target = { pglite: db.pglite! };
  });
  afterAll(async () => {
    await db?.close();
  });

  it('applies every committed migration once, then none', async () => {
    const t0 = Date.now();
    expect(await migrate(db.sql)).toEqual({ applied: names });
    console.log(`migrate on fresh in-memory PGlite: ${Date.now() - t0} ms`);
    expect(await migrate(db.sql)).toEqual({ applied: [] });
    await expectRecorded(db.sql, target);
    await expectSeeded(db.sql);
  });

  it('produces exactly the schema that schema.prisma describes', async () => {
    expect(await schemaDiffSql(target)).toBe('');
  });

  it('notifies idserver_cache on changes to cached tables', async () => {
    const received: string[] = [];
    const unlisten = await db.pglite!.listen('idserver_cache', (p) => received.push(p));
    try {
      await expectNotifications(db.sql, received);
    } finally {
      await unlisten();
    }
  });

  it('refuses to run when an applied migration was edited', async () => {
    const { rows } = await db.sql.query<{ id: string; checksum: string }>(
      `SELECT id, checksum FROM "_prisma_migrations" WHERE migration_name = $1`,
      [names[0]],
    );
    await db.sql.query(`UPDATE "_prisma_migrations" SET checksum = $1 WHERE id = $2`, ['0'.repeat(64), rows[0].id]);
    try {
      await expect(migrate(db.sql)).rejects.toThrow(/checksum mismatch\): \d+_init/);
      expect((await migrationStatus(db.sql)).edited).toEqual([names[0]]);
      // Same verdict as Prisma: the checksum is the one it computes.
      expect((await prismaMigrationHistory(target)).editedMigrationNames).toEqual([names[0]]);
    } finally {
      await db.sql.query(`UPDATE "_prisma_migrations" SET checksum = $1 WHERE id = $2`, [rows[0].checksum, rows[0].id]);
    }
  });

  it('rolls a failing migration back entirely', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idsrv-migrations-'));
    try {
      mkdirSync(join(dir, '29990101000000_broken'));
      writeFileSync(join(dir, '29990101000000_broken', 'migration.sql'), 'CREATE TABLE broken_probe (x int);\nSELECT 1/0;\n');
      await expect(migrate(db.sql, { migrationsDir: dir })).rejects.toThrow(/29990101000000_broken failed .*division by zero/);
      const { rows } = await db.sql.query(`SELECT to_regclass('broken_probe') AS t, (SELECT count(*)::int FROM "_prisma_migrations" WHERE migration_name LIKE '2999%') AS n`);
      expect(rows[0]).toEqual({ t: null, n: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Last: it damages the schema. Proves the "diff is empty" assertion above can fail.
  it('reports drift from schema.prisma', async () => {
    await db.sql.exec('ALTER TABLE users DROP COLUMN phone');
    expect(await schemaDiffSql(target)).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"phone" VARCHAR\(16\)/);
  });
});

const url = process.env.DATABASE_URL;

describe.skipIf(!url)(url ? 'migrations on PostgreSQL' : 'migrations on PostgreSQL (DATABASE_URL not set)', () => {
  // A database of our own, so the run neither sees nor leaves anything in the shared server.
  const dbName = `idsrv_test_${randomBytes(6).toString('hex')}`;
  let admin: pg.Pool;
  let dbUrl: string;
  let a: Database;
  let b: Database;
  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: url, max: 1 });
    await admin.query(`CREATE DATABASE ${dbName}`);
    const u = new URL(url!);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    // Two pools stand in for two server processes starting at once.
    a = await openPostgres(dbUrl, 3);
    b = await openPostgres(dbUrl, 3);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin?.end();
  });

  it('applies every migration exactly once when two processes race, then none', async () => {
    const [ra, rb] = await Promise.all([migrate(a.sql), migrate(b.sql)]);
    expect([...ra.applied, ...rb.applied].sort()).toEqual(names);
    expect(await migrate(a.sql)).toEqual({ applied: [] });
    await expectRecorded(a.sql, { url: dbUrl });
    await expectSeeded(a.sql);
  });

  it('produces exactly the schema that schema.prisma describes', async () => {
    expect(await schemaDiffSql({ url: dbUrl })).toBe('');
  });

  it('notifies idserver_cache on changes to cached tables', async () => {
    const listener = new pg.Client({ connectionString: dbUrl });
    await listener.connect();
    const received: string[] = [];
    listener.on('notification', (n) => received.push(n.payload ?? ''));
    await listener.query('LISTEN idserver_cache');
    try {
      await expectNotifications(a.sql, received);
    } finally {
      await listener.end();
    }
  });

  it('reports drift from schema.prisma', async () => {
    await a.sql.exec('ALTER TABLE users DROP COLUMN phone');
    expect(await schemaDiffSql({ url: dbUrl })).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"phone" VARCHAR\(16\)/);
  });
});
