// The only place that touches @prisma/schema-engine-wasm, an internal Prisma API whose shape can
// change in any release (keep its version pinned exactly): `prisma migrate diff` cannot run here because the CLI insists on downloading its
// native schema engine, while the WASM build of the same engine works through a driver adapter.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
// Transitive dependency of @prisma/adapter-pg/@prisma/client: wraps an adapter factory in the
// Result-returning shape the engine calls into.
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from '../../src/db/migrate.ts';

export const SCHEMA_PATH = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url));

/** The live database to compare: an open PGlite, or a PostgreSQL connection string. */
export type DiffDatabase = { pglite: PGlite } | { url: string };

type EngineModule = typeof import('@prisma/schema-engine-wasm');
let engineModule: Promise<EngineModule> | undefined;

// The package's entry does `import * from "./x.wasm"`, which Node 20 cannot load without a flag,
// so instantiate the WASM by hand against its wasm-bindgen glue module.
function loadEngine(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = (await import(pathToFileURL(gluePath).href)) as EngineModule & { __wbg_set_wasm(exports: unknown): void };
    const bytes = readFileSync(gluePath.replace(/\.js$/, '.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
    // The engine reports Rust panics here before throwing.
    const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown };
    g.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (m: string) => console.error(`schema engine panic: ${m}`) };
    return glue;
  })();
  return engineModule;
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

// The engine's catalog queries return single-byte `"char"` columns (pg_class.relkind,
// pg_constraint.contype...). @prisma/adapter-pg 7.10 has no mapping for that type and fails with
// "Column type 'char' could not be deserialized"; pg already hands the value over as a string, so
// label it text (pglite-prisma-adapter maps it itself). Only the engine's own pool is patched.
function charAsText(pool: pg.Pool): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
  (pool as { query: unknown }).query = async (...args: unknown[]) => {
    const result = await query(...args);
    for (const f of result.fields ?? []) if (f.dataTypeID === PG_CHAR_OID) f.dataTypeID = PG_TEXT_OID;
    return result;
  };
  return pool;
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };

async function withEngine<T>(db: DiffDatabase, schemaPath: string, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const { SchemaEngine } = await loadEngine();
  const content = readFileSync(schemaPath, 'utf8');
  // An external pool, so that we (not the engine) decide when it closes.
  const pool = 'url' in db ? charAsText(new pg.Pool({ connectionString: db.url, max: 2 })) : undefined;
  const factory = pool ? new PrismaPg(pool) : new PrismaPGlite((db as { pglite: PGlite }).pglite);
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngine.new({ datamodels: [[schemaPath, content]] }, () => {}, bindMigrationAwareSqlAdapterFactory(factory));
    return await fn(engine);
  } finally {
    engine?.free();
    await pool?.end();
  }
}

/**
 * SQL that would bring `db` to what schema.prisma describes; '' when they already match.
 * Objects Prisma does not model (functions, triggers, rows, `_prisma_migrations`) are ignored.
 */
export async function schemaDiffSql(db: DiffDatabase, schemaPath = SCHEMA_PATH): Promise<string> {
  const files = [{ path: schemaPath, content: readFileSync(schemaPath, 'utf8') }];
  return withEngine(db, schemaPath, async (engine) => {
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: dirname(schemaPath) },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      // Makes the engine say "non-empty" as exitCode 2 rather than us parsing its empty-script comment.
      exitCode: true,
      filters: NO_FILTERS,
    });
    return result.exitCode === 2 ? (result.stdout ?? '') : '';
  });
}

/**
 * What Prisma's own engine (the logic behind `prisma migrate deploy/status`) thinks of the
 * migration history recorded in `db`: proves our runner's bookkeeping is one Prisma accepts.
 * `history: null` means in sync (nothing unapplied, nothing unknown).
 */
export async function prismaMigrationHistory(
  db: DiffDatabase,
  migrationsDir = DEFAULT_MIGRATIONS_DIR,
): Promise<{ editedMigrationNames: string[]; failedMigrationNames: string[]; hasMigrationsTable: boolean; history: unknown }> {
  // Loaded the way the Prisma CLI loads it: every directory, sorted, contents as read.
  const lock = join(migrationsDir, 'migration_lock.toml');
  const migrationsList = {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lock) ? readFileSync(lock, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: readMigrations(migrationsDir).map((m) => ({
      path: m.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: m.sql } },
    })),
  };
  return withEngine(db, SCHEMA_PATH, (engine) =>
    engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters: NO_FILTERS }),
  );
}
