// Runs `prisma generate` offline. Prisma's CLI tries to fetch its schema-engine binary for every
// command; generate does not need it, so we point it at /bin/false (see PITFALLS.md).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const bin = new URL('../node_modules/.bin/prisma', import.meta.url).pathname;
if (!existsSync(bin)) {
  console.error('prisma CLI not installed; skipping generate');
  process.exit(0);
}
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = '/bin/false';
const r = spawnSync(bin, ['generate'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
