// The one error middleware for our own routes: the caller's mistakes get a clear 4xx, outages a
// 503, our bugs a generic 500 with a log line. Never a stack trace to the client.
import { STATUS_CODES } from 'node:http';
import type { Context, Next } from 'koa';
import type { Config } from '../config.ts';
import { HttpError, isBackendDown } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { renderView } from '../views.ts';
import { htmlSecurityHeaders } from './security-headers.ts';

interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
}

function toProblem(err: unknown, logger: Logger, ctx: Context): Problem {
  // RFC 9457: `title` is the status phrase (type about:blank); `code` says which error precisely.
  if (err instanceof HttpError) return { status: err.status, code: err.code, title: STATUS_CODES[err.status] ?? err.code, detail: err.message, extra: err.extra };
  if (isBackendDown(err)) {
    logger.warn({ path: ctx.path, err: (err as Error).message }, 'backend unavailable');
    return { status: 503, code: 'temporarily_unavailable', title: 'Service unavailable', detail: 'The service is temporarily unavailable. Try again in a moment.' };
  }
  const e = err as { status?: number; statusCode?: number; expose?: boolean; message?: string };
  const status = e.status ?? e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Koa/body-parser errors (413 too large, 415 type, 400 malformed): their messages are safe.
    return { status, code: 'invalid_request', title: 'Bad request', detail: e.expose && e.message ? e.message : 'The request could not be understood.' };
  }
  logger.error({ err, path: ctx.path, method: ctx.method }, 'unhandled error');
  return { status: 500, code: 'server_error', title: 'Internal error', detail: 'Something went wrong on our side.' };
}

export function errorHandler(config: Config, logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next) {
    try {
      await next();
    } catch (err) {
      const p = toProblem(err, logger, ctx);
      ctx.status = p.status;
      if (p.status === 503) ctx.set('Retry-After', '5');
      // JSON APIs (the admin API) always answer problem documents, whatever the Accept header says.
      const api = ctx.path.startsWith('/admin/');
      const wantsHtml = !api && (ctx.method === 'GET' || ctx.is('application/x-www-form-urlencoded')) ? ctx.accepts('json', 'html') === 'html' : false;
      if (wantsHtml) {
        htmlSecurityHeaders(ctx);
        ctx.type = 'html';
        ctx.body = renderView('error', {
          productName: config.productName,
          heading: p.status >= 500 ? 'Something went wrong' : 'This request could not be completed',
          message: p.detail,
          code: p.code,
        });
      } else {
        ctx.type = 'application/problem+json';
        ctx.body = JSON.stringify({ type: 'about:blank', title: p.title, status: p.status, detail: p.detail, code: p.code, ...p.extra });
      }
    }
  };
}
