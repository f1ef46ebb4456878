// Starts a real server in-process on a free port, on PostgreSQL + Redis when the test run has
// them, else on in-memory PGlite and the in-process store.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createThrowawayDatabase, DATABASE_URL, randomPrefix, REDIS_URL, type ThrowawayDb } from './backends.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface TestServer extends RunningServer {
  config: Config;
  issuer: string;
  dataDir: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestServer(
  label: string,
  opts: { embeddedOnDisk?: boolean; env?: Record<string, string>; usePostgres?: boolean; useRedis?: boolean } = {},
): Promise<TestServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `idsrv-${label}-`));
  const usePg = (opts.usePostgres ?? true) && !!DATABASE_URL;
  const useRedis = (opts.useRedis ?? true) && !!REDIS_URL;
  let throwaway: ThrowawayDb | undefined;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...opts.env,
  };
  if (usePg) {
    throwaway = await createThrowawayDatabase(DATABASE_URL!, label);
    env.DATABASE_URL = throwaway.url;
  }
  const prefix = randomPrefix(label);
  if (useRedis) {
    env.REDIS_URL = opts.env?.REDIS_URL ?? REDIS_URL!;
    env.REDIS_KEY_PREFIX = prefix;
  }
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  const running = await startServer(config, logger, { pgliteDir: usePg ? undefined : opts.embeddedOnDisk ? undefined : 'memory://' });
  return {
    ...running,
    config,
    issuer: config.issuer,
    dataDir,
    env,
    async stop() {
      await running.close();
      if (useRedis) {
        const r = new Redis(REDIS_URL!);
        const keys = await r.keys(`${prefix}*`);
        if (keys.length) await r.del(...keys);
        r.disconnect();
      }
      await throwaway?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Resource servers reach running providers through the change feed (a rebuild with the new
 * scopes); wait until discovery lists `scope` before registering or using clients for it.
 */
export async function waitForScope(issuer: string, scope: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { scopes_supported: string[] };
    if (meta.scopes_supported.includes(scope)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`scope ${scope} did not appear in discovery within ${ms} ms`);
}
