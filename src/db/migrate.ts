// Applies the committed SQL migrations (prisma/migrations) without the Prisma CLI, whose schema
// engine binary cannot be downloaded here. Bookkeeping goes into Prisma's own `_prisma_migrations`
// table, with Prisma's columns and checksums, so `prisma migrate deploy` run elsewhere agrees on
// what is applied.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlRunner } from './client.ts';

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));

// The key Prisma's own schema engine takes while migrating PostgreSQL, so this runner and a
// concurrent `prisma migrate deploy` also exclude each other.
const LOCK_KEY = 72707369;

// Prisma's DDL for the table, verbatim in columns and types.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

const ALREADY_APPLIED = 'idserver-migrate: already applied';

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  log?: (msg: string) => void;
  /** Defaults to prisma/migrations next to this package; tests point it elsewhere. */
  migrationsDir?: string;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied, but the file on disk no longer matches the recorded checksum. */
  edited: string[];
  /** Recorded as started and never finished (left by a failed `prisma migrate deploy`). */
  failed: string[];
}

export function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    // Same order as Prisma (it sorts directory names with localeCompare).
    .sort((a, b) => a.localeCompare(b))
    .map((name) => {
      // Names are embedded as SQL literals below; Prisma's own names never need quoting.
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`migration directory name not allowed: ${name}`);
      const file = join(dir, name, 'migration.sql');
      if (!existsSync(file)) throw new Error(`migration ${name} has no migration.sql`);
      const bytes = readFileSync(file);
      // Prisma's checksum: sha256 (hex) of the script file.
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

async function recorded(sql: SqlRunner): Promise<Row[]> {
  const { rows } = await sql.query<{ t: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS t`);
  if (!rows[0]?.t) return [];
  const r = await sql.query<Row>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
  );
  return r.rows;
}

export async function migrationStatus(sql: SqlRunner, opts: Pick<MigrateOptions, 'migrationsDir'> = {}): Promise<MigrationStatus> {
  const files = readMigrations(opts.migrationsDir);
  // A rolled-back row is history only (Prisma ignores it too).
  const rows = (await recorded(sql)).filter((r) => r.rolled_back_at == null);
  const done = new Map(rows.filter((r) => r.finished_at != null).map((r) => [r.migration_name, r.checksum]));
  return {
    applied: files.filter((f) => done.has(f.name)).map((f) => f.name),
    pending: files.filter((f) => !done.has(f.name)).map((f) => f.name),
    edited: files.filter((f) => done.has(f.name) && done.get(f.name) !== f.checksum).map((f) => f.name),
    failed: rows.filter((r) => r.finished_at == null).map((r) => r.migration_name),
  };
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function migrate(sql: SqlRunner, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {});
  const files = readMigrations(opts.migrationsDir);

  // Every script below is one simple-protocol exec without BEGIN/COMMIT, which PostgreSQL (and
  // PGlite) runs as one implicit transaction: any error rolls back the whole script and leaves the
  // pooled connection clean, where an explicit BEGIN would leave it in an aborted transaction.
  // The lock is transaction-scoped because SqlRunner may be a pool: a session-level
  // pg_advisory_lock could be taken and released on two different connections.
  await sql.exec(`SELECT pg_advisory_xact_lock(${LOCK_KEY}); ${CREATE_TABLE};`);

  const status = await migrationStatus(sql, opts);
  if (status.failed.length) {
    throw new Error(
      `migrations recorded as failed in _prisma_migrations: ${status.failed.join(', ')}; ` +
        'fix the database by hand and mark them rolled back (`prisma migrate resolve --rolled-back`) before migrating',
    );
  }
  if (status.edited.length) {
    throw new Error(
      `applied migrations were modified on disk since they ran (checksum mismatch): ${status.edited.join(', ')}; ` +
        'restore the original migration.sql and put the change in a new migration',
    );
  }

  const applied: string[] = [];
  for (const f of files.filter((m) => status.pending.includes(m.name))) {
    // Another process may have applied it since we looked: re-check under the lock and abort the
    // transaction (nothing executed yet) if so.
    const script = `SELECT pg_advisory_xact_lock(${LOCK_KEY});
DO $idsrv_migrate$ BEGIN
  IF EXISTS (SELECT 1 FROM "_prisma_migrations" WHERE migration_name = ${lit(f.name)}
             AND finished_at IS NOT NULL AND rolled_back_at IS NULL) THEN
    RAISE EXCEPTION '${ALREADY_APPLIED}';
  END IF;
END $idsrv_migrate$;
${f.sql}
;
INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
VALUES (${lit(randomUUID())}, ${lit(f.checksum)}, clock_timestamp(), ${lit(f.name)}, NULL, NULL, now(), 1);`;
    const t0 = Date.now();
    try {
      await sql.exec(script);
    } catch (err) {
      if (err instanceof Error && err.message.includes(ALREADY_APPLIED)) {
        log(`migration ${f.name} applied by another process`);
        continue;
      }
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`migration ${f.name} failed and was rolled back: ${msg}`, { cause: err });
    }
    applied.push(f.name);
    log(`applied migration ${f.name} (${Date.now() - t0} ms)`);
  }
  return { applied };
}
