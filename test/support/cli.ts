// Runs the CLI as a separate process against a test server's storage, as an operator would.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestServer } from './server.ts';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

export async function cli(srv: TestServer, args: string[]) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATA_DIR: srv.dataDir, LOG_LEVEL: 'silent' };
  // The operator runs the CLI with the server's configuration.
  if (srv.env.FEDERATION_PROVIDERS) env.FEDERATION_PROVIDERS = srv.env.FEDERATION_PROVIDERS;
  if (srv.env.DATABASE_URL) env.DATABASE_URL = srv.env.DATABASE_URL;
  if (srv.env.REDIS_URL) env.REDIS_URL = srv.env.REDIS_URL;
  if (srv.env.REDIS_KEY_PREFIX) env.REDIS_KEY_PREFIX = srv.env.REDIS_KEY_PREFIX;
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: ROOT, env });
    return { code: 0, json: JSON.parse(stdout) as Record<string, unknown>, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, json: undefined, stderr: e.stderr };
  }
}
