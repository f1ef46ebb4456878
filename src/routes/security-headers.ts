// Security headers. Every response gets the cheap ones; our HTML pages also get a strict CSP and
// no-store (forms and their error messages must not be cached or framed).
import type { Context, Next } from 'koa';

export function securityHeaders(opts: { https: boolean }) {
  return async function setSecurityHeaders(ctx: Context, next: Next) {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (opts.https) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
    // Provider-rendered pages (form_post) carry their own inline script; only forbid framing there.
    if (!ctx.response.get('Content-Security-Policy')) ctx.set('Content-Security-Policy', "frame-ancestors 'none'");
  };
}

/**
 * `formTargets` are the origins a form on this page may end up at: Chrome applies form-action
 * to the redirects after a POST, so the relying party's origin must be listed or the final
 * redirect back to it would be blocked.
 */
export function htmlSecurityHeaders(ctx: Context, formTargets?: string[]): void {
  const formAction = formTargets ? `; form-action 'self' ${formTargets.join(' ')}`.trimEnd() : '';
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'${formAction}`,
  );
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}
