// Boot sequence: config -> database (+ migrations) -> stores -> keys -> provider -> app -> listen.
// Used by main.ts and by the end-to-end tests, which start real servers in-process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Redis } from 'ioredis';
import { createAdapterFactory } from './adapters/index.ts';
import { createApp, providerHolder } from './app.ts';
import type { Config } from './config.ts';
import { clearStaleSocket, openDatabase, pgliteSocketPath, type Database } from './db/client.ts';
import { createChangeFeed } from './db/change-feed.ts';
import { migrate } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import { guard, guardAdapter } from './provider/backend-guard.ts';
import { createFindAccount } from './provider/claims.ts';
import { createProvider } from './provider/configuration.ts';
import { attachProviderEvents } from './provider/events.ts';
import { loadSigningKeys } from './provider/keys.ts';
import { healthRouter } from './routes/health.ts';
import { accountRouter } from './routes/account/router.ts';
import { federationRouter } from './routes/federation/callback.ts';
import { adminRouter } from './routes/admin/router.ts';
import { ensureAdminResource } from './services/admin-resource.ts';
import { createFederationRegistry } from './services/federation/registry.ts';
import { accessTokenRbacClaims } from './services/rbac.ts';
import { recordEvent } from './services/audit.ts';
import { createMailer } from './services/mail.ts';
import { startPurgeJob } from './services/purge.ts';
import { ActionRateLimiter, LoginRateLimiter } from './services/rate-limit.ts';
import { createShortStore } from './services/short-store.ts';
import { createSmsSender } from './services/sms.ts';
import { recordSessionDevice, type DeviceRecord } from './services/devices.ts';
import { requestInfo } from './interactions/context.ts';
import { listResourceScopes, ResourceServerCache } from './services/resources.ts';

export interface RunningServer {
  url: string;
  server: Server;
  db: Database;
  redis?: Redis;
  /** Revokes a grant and every token under it in both stores (for services and tests). */
  revokeGrant(grantId: string): Promise<void>;
  close(): Promise<void>;
}

export function openRedis(url: string): Redis {
  return new Redis(url, {
    // Fail fast while Redis is down (the request answers 503) instead of queueing for ever;
    // ioredis keeps reconnecting in the background and requests succeed again once it is back.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: true,
  });
}

export async function startServer(config: Config, logger: Logger, opts: { pgliteDir?: string } = {}): Promise<RunningServer> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: opts.pgliteDir ?? join(config.dataDir, 'pgdata'),
    poolSize: config.databasePoolSize,
  });
  const { applied } = await migrate(db.sql, { log: (m) => logger.info(m) });
  if (applied.length) logger.info({ applied }, 'migrations applied');

  let redis: Redis | undefined;
  if (config.redisUrl) {
    redis = openRedis(config.redisUrl);
    redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
    await redis.connect().catch((err) => {
      redis?.disconnect();
      throw new Error(`cannot reach Redis at REDIS_URL: ${err.message}`);
    });
  }

  const feed = await createChangeFeed(db, config.databaseUrl, {
    onError: (err) => logger.warn({ err: err.message }, 'change feed connection lost; reconnecting'),
  });
  const storage = createAdapterFactory({ db, redis, keyPrefix: config.redisKeyPrefix, changeFeed: feed });
  const Adapter = guardAdapter(storage.Adapter);
  const resources = new ResourceServerCache(db.prisma);
  const baseFindAccount = createFindAccount(db.prisma);
  const findAccount: typeof baseFindAccount = (ctx, sub, token) => guard('database', async () => baseFindAccount(ctx, sub, token));
  const accessTokenClaims = (accountId: string, scope: string) => guard('database', () => accessTokenRbacClaims(db.prisma, accountId, scope));
  // Before the first build: its scopes must be known to the provider.
  await ensureAdminResource(db.prisma, config.admin.audience);
  // Upstream sign-in providers: FEDERATION_PROVIDERS plus those operators added (CLI, admin API).
  const federation = createFederationRegistry(db.prisma, config, logger);
  await federation.reload();
  feed.on('federation_providers', () => {
    federation.reload().catch((err: Error) => logger.error({ err: err.message }, 'reloading upstream providers failed'));
  });

  const build = async (reload = false) => {
    const jwks = await loadSigningKeys(db.prisma, config.encryptionKey, config.signingAlg, { create: !reload });
    const resourceScopes = await listResourceScopes(db.prisma);
    const provider = createProvider({ config, logger, Adapter, findAccount, jwks, resources, resourceScopes, accessTokenClaims });
    attachProviderEvents(provider, logger, (accountId, clientId) =>
      recordEvent(db.prisma, { userId: accountId, type: 'logout', metadata: clientId ? { clientId } : {} }),
    );
    return provider;
  };
  const holder = providerHolder(await build());

  // A key rotation or a new resource server (by the CLI or another instance) changes what the
  // provider was built with: rebuild it. Coalesced, since a rotation notifies once per key row.
  let rebuild: NodeJS.Timeout | undefined;
  const scheduleRebuild = (why: string) => {
    clearTimeout(rebuild);
    rebuild = setTimeout(() => {
      build(true)
        .then((p) => {
          holder.swap(p);
          logger.info({ why }, 'provider reloaded');
        })
        .catch((err) => logger.error({ err }, 'reloading the provider failed'));
    }, 50);
  };
  feed.on('resource_servers', () => {
    resources.invalidate();
    scheduleRebuild('resource servers changed');
  });
  feed.on('signing_keys', () => scheduleRebuild('signing keys changed'));

  const mailer = createMailer(config, logger);
  const shortStore = createShortStore(redis, config.redisKeyPrefix);
  const interactionDeps = {
    config,
    prisma: db.prisma,
    logger,
    loginLimiter: new LoginRateLimiter(redis, config.hmacKey, config.redisKeyPrefix),
    actionLimiter: new ActionRateLimiter(redis, config.hmacKey, config.redisKeyPrefix),
    mailer,
    store: shortStore,
    revokeGrant: (grantId: string) => storage.revokeByGrantId(grantId),
    sms: createSmsSender(config, logger),
    getProvider: () => holder.current,
  };
  const app = createApp({
    config,
    logger,
    holder,
    interactionDeps,
    routers: [
      { prefixes: ['/healthz', '/readyz'], router: healthRouter({ db, redis }) },
      { prefixes: ['/account'], router: accountRouter(interactionDeps) },
      { prefixes: ['/federation/'], router: federationRouter(interactionDeps) },
      { prefixes: ['/admin/'], router: adminRouter({ config, logger, prisma: db.prisma, revokeGrant: interactionDeps.revokeGrant, federationEnvIds: federation.fromEnv.map((p) => p.id) }, feed) },
    ],
    // The end of a sign-in (/auth/<interaction uid>): the provider has just saved the browser
    // session; attach the device and trust details the login step computed.
    afterProvider: async (ctx) => {
      const m = /^\/auth\/([A-Za-z0-9_-]{1,64})$/.exec(ctx.path);
      const session = (ctx as unknown as { oidc?: { session?: { uid: string; accountId?: string } } }).oidc?.session;
      if (!m || !session?.accountId) return;
      try {
        const device = await shortStore.get<DeviceRecord>(`device:${m[1]}`);
        if (!device) return;
        await shortStore.del(`device:${m[1]}`);
        const info = requestInfo(ctx, config);
        await recordSessionDevice(db.prisma, session.uid, session.accountId, info, device);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'recording session device details failed');
      }
    },
  });
  const purgeJob = startPurgeJob(db.prisma, config, logger);

  // Embedded mode: share our PGlite with local processes (the CLI) over a Unix socket.
  let socketServer: PGLiteSocketServer | undefined;
  if (db.pglite && opts.pgliteDir !== 'memory://') {
    await clearStaleSocket(config.dataDir);
    socketServer = new PGLiteSocketServer({ db: db.pglite, path: pgliteSocketPath(config.dataDir) });
    await socketServer.start().catch((err: Error) => {
      logger.warn({ err: err.message }, 'could not share the embedded database over a socket; the CLI will not work while the server runs');
      socketServer = undefined;
    });
  }

  const server = createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  let closed = false;
  return {
    url,
    server,
    db,
    redis,
    revokeGrant: (grantId: string) => storage.revokeByGrantId(grantId),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(rebuild);
      purgeJob.stop();
      mailer.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await socketServer?.stop().catch(() => {});
      await feed.close().catch(() => {});
      await storage.close().catch(() => {});
      redis?.disconnect();
      await db.close();
    },
  };
}
