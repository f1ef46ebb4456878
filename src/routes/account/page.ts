// Rendering for the account pages (outside a sign-in interaction): security headers, CSRF field.
import type { Context } from 'koa';
import type { InteractionDeps } from '../../interactions/context.ts';
import { csrfToken, verifyCsrf } from '../../interactions/csrf.ts';
import { renderView } from '../../views.ts';
import { htmlSecurityHeaders } from '../security-headers.ts';

export function renderPage(ctx: Context, deps: InteractionDeps, view: string, csrfScope: string | undefined, data: Record<string, unknown>, status = 200): void {
  htmlSecurityHeaders(ctx);
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderView(view, {
    productName: deps.config.productName,
    csrf: csrfScope ? csrfToken(ctx, deps.config.hmacKey, csrfScope, deps.config.issuer.startsWith('https:')) : undefined,
    ...data,
  });
}

export function checkCsrf(ctx: Context, deps: InteractionDeps, scope: string, body: Record<string, unknown>): void {
  verifyCsrf(ctx, deps.config.hmacKey, scope, body.csrf);
}

/** A message page (success or a readable error). */
export function messagePage(ctx: Context, deps: InteractionDeps, heading: string, message: string, status = 200, link?: { href: string; text: string }): void {
  renderPage(ctx, deps, 'message', undefined, { heading, message, link, status }, status);
}
