// One Prisma client, on real PostgreSQL (DATABASE_URL) or on embedded PGlite (DATA_DIR).
// In embedded mode the server owns the PGlite directory and shares it with local processes
// (the CLI) over a Unix socket in DATA_DIR, since a second process cannot open the same directory.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.ts';

export type DbKind = 'postgres' | 'pglite' | 'pglite-socket';

/** The raw SQL surface the migration runner and a few hot queries need. */
export interface SqlRunner {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs a script of several statements (simple query protocol). */
  exec(sql: string): Promise<void>;
}

export interface Database {
  kind: DbKind;
  prisma: PrismaClient;
  sql: SqlRunner;
  /** PGlite instance when embedded and owned by this process (for the socket server). */
  pglite?: PGlite;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** Directory for embedded PGlite; 'memory://' for an in-memory database (tests). */
  pgliteDir?: string;
  poolSize?: number;
  /** Embedded mode only: connect through a running server's socket when one is listening. */
  preferSocket?: boolean;
}

export function pgliteSocketDir(dataDir: string): string {
  return dataDir;
}

/** pg's convention: host=<dir> and port=<n> means the Unix socket <dir>/.s.PGSQL.<n>. */
export function pgliteSocketPath(dataDir: string): string {
  return join(dataDir, '.s.PGSQL.5432');
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize ?? 10);
  const dir = opts.pgliteDir ?? './.data/pgdata';
  if (dir !== 'memory://' && opts.preferSocket) {
    const dataDir = join(dir, '..');
    if (await socketAlive(pgliteSocketPath(dataDir))) {
      const db = await openPostgres(`postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dataDir)}`, 1);
      return { ...db, kind: 'pglite-socket' };
    }
  }
  return openPglite(dir);
}

export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Fail fast when PostgreSQL is down instead of queueing requests for ever: the app answers 503.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next query reconnects.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const sql: SqlRunner = {
    async query<T>(text: string, params?: unknown[]) {
      const r = await pool.query(text, params as unknown[] | undefined);
      return { rows: r.rows as T[] };
    },
    async exec(text: string) {
      await pool.query(text);
    },
  };
  return {
    kind: 'postgres',
    prisma,
    sql,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export async function openPglite(dir: string): Promise<Database> {
  if (dir !== 'memory://') mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir === 'memory://' ? undefined : dir);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  const sql: SqlRunner = {
    async query<T>(text: string, params?: unknown[]) {
      const r = await pglite.query<T>(text, params as unknown[] | undefined);
      return { rows: r.rows };
    },
    async exec(text: string) {
      await pglite.exec(text);
    },
  };
  return {
    kind: 'pglite',
    prisma,
    sql,
    pglite,
    async close() {
      await prisma.$disconnect();
      // Always close PGlite: an open instance makes the process exit with code 99.
      await pglite.close();
    },
  };
}

function socketAlive(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolvePromise) => {
    const sock = connect(path);
    const done = (ok: boolean) => {
      sock.destroy();
      resolvePromise(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    setTimeout(() => done(false), 500).unref();
  });
}

/** Removes a stale socket file left by a server that died without cleaning up. */
export async function clearStaleSocket(dataDir: string): Promise<void> {
  const path = pgliteSocketPath(dataDir);
  if (existsSync(path) && !(await socketAlive(path))) rmSync(path, { force: true });
}
