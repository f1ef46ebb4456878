// Says plainly which backends this run covers. Without DATABASE_URL / REDIS_URL the suites run on
// the embedded backends and skip the others; under CI=true a missing or unreachable service fails
// the run instead of being skipped.
import { connect } from 'node:net';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const sock = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

export default async function setup(): Promise<void> {
  const ci = process.env.CI === 'true';
  const db = process.env.DATABASE_URL;
  const redis = process.env.REDIS_URL;
  const problems: string[] = [];
  const lines: string[] = [];

  if (db) {
    if (await reachable(db, 5432)) lines.push(`PostgreSQL: ${new URL(db).host} (tested)`);
    else problems.push(`DATABASE_URL is set but PostgreSQL at ${new URL(db).host} is unreachable`);
  } else {
    lines.push('PostgreSQL: SKIPPED (DATABASE_URL not set; embedded PGlite only)');
    if (ci) problems.push('CI=true but DATABASE_URL is not set');
  }
  if (redis) {
    if (await reachable(redis, 6379)) lines.push(`Redis: ${new URL(redis).host} (tested)`);
    else problems.push(`REDIS_URL is set but Redis at ${new URL(redis).host} is unreachable`);
  } else {
    lines.push('Redis: SKIPPED (REDIS_URL not set; in-process store only)');
    if (ci) problems.push('CI=true but REDIS_URL is not set');
  }
  console.log(`\n[backends]\n  ${lines.join('\n  ')}\n`);
  if (problems.length) throw new Error(`test environment: ${problems.join('; ')}`);
}
