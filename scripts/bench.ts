// `npm run bench`: our server on PostgreSQL + Redis against a plain oidc-provider with its
// in-memory adapter, in one run, loaded by autocannon with the same settings. Prints grants/s,
// introspections/s, p50/p99 latency and our/plain ratios. A benchmark, not a test: the figures
// depend on the machine; the ratio against the baseline measured in the same run is what counts.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import Provider from 'oidc-provider';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';
import { createClient } from '../src/services/clients.ts';
import { createResourceServer } from '../src/services/resources.ts';
import { createThrowawayDatabase } from '../test/support/backends.ts';
import { freePort, waitForScope } from '../test/support/server.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WARMUP = 2;
// Rounds alternate which server goes first, so JIT warm-up and machine noise do not favour one.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CLIENT_ID = 'bench';
const SECRET = 'bench-secret-0123456789abcdef';
const API = 'https://api.bench.test';
const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`;

interface Target {
  name: string;
  url: string;
}

interface Result {
  scenario: string;
  server: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function post(url: string, body: string) {
  const res = await fetch(url, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function load(url: string, body: string, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body,
        connections: CONNECTIONS,
        duration: seconds,
        pipelining: 1,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

async function measure(scenario: string, target: Target, path: string, body: string): Promise<Result> {
  // A benchmark of error responses is worthless: check the request succeeds first.
  const probe = await post(`${target.url}${path}`, body);
  if (probe.status !== 200 || (path === '/token' && !probe.json.access_token) || (path.endsWith('introspection') && probe.json.active !== true)) {
    throw new Error(`${target.name} ${scenario}: probe answered ${probe.status} ${JSON.stringify(probe.json)}`);
  }
  await load(`${target.url}${path}`, body, WARMUP);
  const r = await load(`${target.url}${path}`, body, DURATION);
  const result = {
    scenario,
    server: target.name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
  if (result.non2xx || result.errors) throw new Error(`${target.name} ${scenario}: ${result.non2xx} non-2xx and ${result.errors} errors during the run`);
  return result;
}

async function startPlain(): Promise<{ target: Target; close(): Promise<void> }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT_ID, client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'read write' }],
    scopes: ['openid', 'offline_access', 'read', 'write'],
    features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, devInteractions: { enabled: false } },
  });
  const server: Server = createHttpServer(provider.callback());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    target: { name: 'plain oidc-provider (in-memory)', url: issuer },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function startOurs() {
  const db = await createThrowawayDatabase(DATABASE_URL, 'bench');
  const prefix = `bench:${Date.now()}:`;
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'idsrv-bench-'));
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'silent',
  });
  const running = await startServer(config, createLogger('silent'));
  await createResourceServer(running.db.prisma, { identifier: API, scope: 'read write' });
  await waitForScope(config.issuer, 'write');
  await createClient(running.db.prisma, { id: CLIENT_ID, secret: SECRET, redirectUris: [], grantTypes: ['client_credentials'], scope: 'read write' });
  return {
    target: { name: 'ours (PostgreSQL + Redis)', url: config.issuer },
    async close() {
      await running.close();
      const r = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) await r.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      r.disconnect();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function scenarios(target: Target, withResource: boolean): Promise<Result[]> {
  const results: Result[] = [];
  results.push(await measure('client_credentials (opaque)', target, '/token', 'grant_type=client_credentials&scope=read'));
  const token = (await post(`${target.url}/token`, 'grant_type=client_credentials&scope=read')).json.access_token as string;
  results.push(await measure('introspection', target, '/token/introspection', `token=${encodeURIComponent(token)}`));
  if (withResource) {
    results.push(await measure('client_credentials (JWT, resource)', target, '/token', `grant_type=client_credentials&scope=read&resource=${encodeURIComponent(API)}`));
  }
  return results;
}

async function main() {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await redis.connect().catch((err) => {
    throw new Error(`Redis unreachable at ${REDIS_URL}: ${err.message}`);
  });
  redis.disconnect();

  console.log(`bench: ${CONNECTIONS} connections, keep-alive, ${WARMUP}s warm-up + ${DURATION}s per scenario, ${ROUNDS} rounds; servers run one after the other`);
  const ours = await startOurs();
  const plain = await startPlain();
  let results: Result[] = [];
  try {
    // Both servers live in this process, one loaded at a time: the JavaScript of a server runs on
    // one core, autocannon and PostgreSQL/Redis use the rest of the machine.
    const all: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [plain.target, ours.target] : [ours.target, plain.target];
      for (const t of order) all.push(...(await scenarios(t, t === ours.target)));
    }
    // Mean over the rounds, per scenario and server.
    const keys = [...new Set(all.map((r) => `${r.scenario}|${r.server}`))];
    results = keys.map((k) => {
      const rs = all.filter((r) => `${r.scenario}|${r.server}` === k);
      const mean = (f: (r: Result) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
      return { ...rs[0], rps: mean((r) => r.rps), p50: mean((r) => r.p50), p99: mean((r) => r.p99) };
    });
    for (const r of all) console.log(`  round result: ${r.scenario} / ${r.server}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms`);
  } finally {
    await ours.close();
    await plain.close();
  }

  const row = (r: Result) =>
    `${r.scenario.padEnd(36)} ${r.server.padEnd(32)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(1).padStart(6)} ${r.p99.toFixed(1).padStart(6)}`;
  console.log(`\n${'scenario'.padEnd(36)} ${'server'.padEnd(32)} ${'req/s'.padStart(8)} ${'p50ms'.padStart(6)} ${'p99ms'.padStart(6)}`);
  for (const r of results) console.log(row(r));

  console.log('\nratios (ours / plain in-memory provider):');
  for (const scenario of ['client_credentials (opaque)', 'introspection']) {
    const o = results.find((r) => r.scenario === scenario && r.server.startsWith('ours'))!;
    const p = results.find((r) => r.scenario === scenario && r.server.startsWith('plain'))!;
    console.log(`  ${scenario.padEnd(30)} req/s ${(o.rps / p.rps).toFixed(2)}   p99 ${o.p99.toFixed(1)} ms vs ${p.p99.toFixed(1)} ms`);
  }
  const cc = results.find((r) => r.scenario === 'client_credentials (opaque)' && r.server.startsWith('ours'))!;
  console.log(
    `\nclient_credentials grants/s per core: ${cc.rps.toFixed(0)} (the server's JavaScript runs on one core; machine has ${availableParallelism()} cores shared with the load generator and the databases)`,
  );
  console.log('targets: ratio >= 0.90, >= 1000 grants/s per core');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
