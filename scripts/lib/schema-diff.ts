// The only place that touches @prisma/schema-engine-wasm, an internal Prisma API (pinned in
// package.json): `prisma migrate diff` cannot run here because the CLI insists on downloading its
// native schema engine, while the WASM build of the same engine works through a driver adapter.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
// Transitive dependency of @prisma/adapter-pg/@prisma/client: wraps an adapter factory in the
// Result-returning shape the engine calls into.
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

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
    const glue = (await import(gluePath)) as EngineModule & { __wbg_set_wasm(exports: unknown): void };
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

/**
 * SQL that would bring `db` to what schema.prisma describes; '' when they already match.
 * Objects Prisma does not model (functions, triggers, rows, `_prisma_migrations`) are ignored.
 */
export async function schemaDiffSql(db: DiffDatabase, schemaPath = SCHEMA_PATH): Promise<string> {
  const { SchemaEngine } = await loadEngine();
  const content = readFileSync(schemaPath, 'utf8');
  const files = [{ path: schemaPath, content }];
  // An external pool, so that we (not the engine) decide when it closes.
  const pool = 'url' in db ? new pg.Pool({ connectionString: db.url, max: 2 }) : undefined;
  const factory = pool ? new PrismaPg(pool) : new PrismaPGlite((db as { pglite: PGlite }).pglite);
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngine.new({ datamodels: [[schemaPath, content]] }, () => {}, bindMigrationAwareSqlAdapterFactory(factory));
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: dirname(schemaPath) },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      // Makes the engine say "non-empty" as exitCode 2 rather than us parsing its empty-script comment.
      exitCode: true,
      filters: { externalTables: [], externalEnums: [] },
    });
    return result.exitCode === 2 ? (result.stdout ?? '') : '';
  } finally {
    engine?.free();
    await pool?.end();
  }
}
