// Liveness and readiness. /readyz answers 503 while PostgreSQL or Redis is unreachable, so a load
// balancer stops sending traffic until they are back.
import Router from '@koa/router';
import type { Redis } from 'ioredis';
import type { Database } from '../db/client.ts';

export function healthRouter(deps: { db: Database; redis?: Redis }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<string, 'ok' | 'down'> = {};
    await Promise.all([
      deps.db.sql.query('SELECT 1').then(() => (checks.database = 'ok'), () => (checks.database = 'down')),
      deps.redis
        ? deps.redis.ping().then(() => (checks.redis = 'ok'), () => (checks.redis = 'down'))
        : Promise.resolve((checks.store = 'ok')),
    ]);
    const ok = Object.values(checks).every((v) => v === 'ok');
    ctx.status = ok ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: ok ? 'ok' : 'unavailable', checks };
  });
  return router;
}
