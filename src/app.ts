// The Koa app: security headers, error handler, our routers, then oidc-provider mounted at /.
// The provider instance can be swapped at runtime (signing keys rotated by the CLI are picked up
// without a restart), so it is reached through a holder rather than mounted once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { interactionRouter } from './interactions/router.ts';
import type { InteractionDeps } from './interactions/context.ts';
import { errorHandler } from './routes/error-handler.ts';
import { securityHeaders } from './routes/security-headers.ts';
import type Router from '@koa/router';
import { VIEWS_DIR } from './views.ts';

export interface ProviderHolder {
  current: Provider;
  swap(next: Provider): void;
}

export function providerHolder(initial: Provider): ProviderHolder {
  let mounted = mount(initial);
  const holder = {
    current: initial,
    mounted: () => mounted,
    swap(next: Provider) {
      holder.current = next;
      mounted = mount(next);
    },
  };
  return holder;
}

export function createApp(opts: {
  config: Config;
  logger: Logger;
  holder: ProviderHolder & { mounted?: () => Koa.Middleware };
  interactionDeps: InteractionDeps;
  routers: { prefixes: string[]; router: Router }[];
  /** Runs after the provider answered (its session saved); failures are the hook's to handle. */
  afterProvider?: (ctx: Koa.Context) => Promise<void>;
}): Koa {
  const { config, logger } = opts;
  const app = new Koa({ proxy: config.trustProxy });
  // The provider signs its cookies with the same keys (the mounted provider shares this ctx).
  app.keys = config.cookieKeys;
  app.silent = true;

  const assets: Record<string, { type: string; body: Buffer }> = {
    '/static/app.css': { type: 'text/css', body: readFileSync(join(VIEWS_DIR, 'static', 'app.css')) },
    '/static/passkey.js': { type: 'application/javascript', body: readFileSync(join(VIEWS_DIR, 'static', 'passkey.js')) },
  };
  app.use(securityHeaders({ https: config.issuer.startsWith('https:') }));
  app.use(errorHandler(config, logger));
  app.use(async (ctx, next) => {
    const asset = assets[ctx.path];
    if (asset && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.type = asset.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = asset.body;
      return;
    }
    await next();
  });
  // Our routers only see the paths they own, so the provider's hot endpoints (/token,
  // /token/introspection) do not pay for route matching they can never hit.
  for (const { prefixes, router } of [...opts.routers, { prefixes: ['/interaction/'], router: interactionRouter(opts.interactionDeps) }]) {
    const routes = router.routes() as unknown as Koa.Middleware;
    const methods = router.allowedMethods() as unknown as Koa.Middleware;
    app.use((ctx, next) =>
      prefixes.some((p) => ctx.path.startsWith(p)) ? routes(ctx, () => methods(ctx, next)) : next(),
    );
  }
  const holder = opts.holder as ProviderHolder & { mounted: () => Koa.Middleware };
  const after = opts.afterProvider;
  app.use(async (ctx, next) => {
    await holder.mounted()(ctx, next);
    if (after) await after(ctx);
  });
  return app;
}
