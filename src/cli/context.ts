// Shared plumbing for CLI commands: same storage selection as the server, JSON on stdout,
// a clear message and a non-zero exit on error.
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { Redis } from 'ioredis';
import { createAdapterFactory } from '../adapters/index.ts';
import type { RevokeGrant } from '../services/revocation.ts';

export class CliError extends Error {}

export interface CliContext {
  config: Config;
  db: Database;
}

export async function withDb<T>(fn: (ctx: CliContext) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  // In embedded mode a running server owns the PGlite directory: go through its socket.
  const db = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: join(config.dataDir, 'pgdata'), preferSocket: true, poolSize: 2 });
  try {
    if (opts.migrate !== false) await migrate(db.sql);
    return await fn({ config, db });
  } finally {
    await db.close();
  }
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

export function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || !v) throw new CliError(`--${name} is required`);
  return v;
}

export function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function list(v: unknown): string[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean);
}

/**
 * withDb plus a grant revoker reaching both stores (Redis when configured). Without Redis the
 * short-lived tokens live in the server's memory, out of the CLI's reach: they expire on their own.
 */
export async function withStores<T>(fn: (ctx: CliContext & { revokeGrant: RevokeGrant }) => Promise<T>): Promise<T> {
  return withDb(async (ctx) => {
    const redis = ctx.config.redisUrl ? new Redis(ctx.config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 }) : undefined;
    const storage = createAdapterFactory({ db: ctx.db, redis, keyPrefix: ctx.config.redisKeyPrefix });
    try {
      return await fn({ ...ctx, revokeGrant: (id) => storage.revokeByGrantId(id) });
    } finally {
      await storage.close().catch(() => {});
      redis?.disconnect();
    }
  });
}
