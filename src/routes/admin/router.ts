// /admin/v1: every route of the table behind bearer authentication and zod validation of path,
// query and body; answers are JSON, errors application/problem+json (see error-handler.ts).
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z, type ZodType } from 'zod';
import type { ChangeFeed } from '../../db/change-feed.ts';
import { HttpError } from '../../errors.ts';
import { createAuthenticator } from './auth.ts';
import { clientRoutes } from './clients.ts';
import type { AdminDeps, AnyRoute } from './define.ts';
import { buildOpenApi } from './openapi.ts';
import { federationRoutes } from './federation.ts';
import { resourceRoutes } from './resources.ts';
import { roleRoutes } from './roles.ts';
import { userActivityRoutes } from './user-activity.ts';
import { userRoutes } from './users.ts';

export const ADMIN_PREFIX = '/admin/v1';
export const ADMIN_ROUTES: AnyRoute[] = [...userRoutes, ...userActivityRoutes, ...roleRoutes, ...clientRoutes, ...resourceRoutes, ...federationRoutes];

const nothing = z.object({}).strict();

function validate<T extends ZodType>(schema: T, value: unknown, where: 'path' | 'query' | 'body'): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = r.error.issues.map((i) => ({ in: where, path: i.path.join('.'), message: i.message }));
  throw new HttpError(400, 'validation_failed', `The request ${where === 'path' ? 'path' : where} is not valid: ${errors[0].path || where} ${errors[0].message}`.trim(), { errors });
}

/** `/users/{id}` (OpenAPI) to `/users/:id` (router). */
export const koaPath = (p: string) => p.replace(/\{(\w+)\}/g, ':$1');

export function adminRouter(deps: AdminDeps, feed?: ChangeFeed): Router {
  const router = new Router({ prefix: ADMIN_PREFIX });
  const authenticate = createAuthenticator(deps, feed);
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' });
  let doc: unknown;

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.get('/openapi.json', (ctx) => {
    doc ??= buildOpenApi(ADMIN_ROUTES, { serverUrl: `${deps.config.issuer}${ADMIN_PREFIX}`, audience: deps.config.admin.audience });
    ctx.body = doc;
  });

  for (const r of ADMIN_ROUTES) {
    router[r.method](koaPath(r.path), async (ctx: Context) => {
      const caller = await authenticate(ctx, r.permission);
      const params = validate(r.params ?? nothing, { ...ctx.params }, 'path');
      const query = validate(r.query ?? nothing, { ...ctx.query }, 'query');
      let body: unknown;
      if (r.body) {
        if (!ctx.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'Send the request body as application/json.');
        await json(ctx as never, async () => {});
        body = validate(r.body, ctx.request.body, 'body');
      } else if (ctx.request.length) {
        throw new HttpError(400, 'validation_failed', 'This operation takes no request body.');
      }
      const result = await r.handler({ params, query, body, actor: caller.actor }, deps);
      ctx.status = r.status ?? 200;
      if (ctx.status !== 204) ctx.body = r.response ? r.response.parse(result) : result;
    });
  }

  // Anything else below the prefix: a problem document, not the provider's HTML 404.
  router.all('/{*rest}', (ctx) => {
    const allowed = ADMIN_ROUTES.filter((r) => new RegExp(`^${ADMIN_PREFIX}${r.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(ctx.path)).map((r) => r.method.toUpperCase());
    if (allowed.length) {
      ctx.set('Allow', allowed.join(', '));
      throw new HttpError(405, 'method_not_allowed', `Use ${allowed.join(' or ')} for this resource.`);
    }
    throw new HttpError(404, 'not_found', 'There is no such admin API endpoint.');
  });
  return router;
}
