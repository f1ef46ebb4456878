// What the hosted pages need, and the helpers they share.
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { hmacHex } from '../services/crypto.ts';
import type { Mailer } from '../services/mail.ts';
import type { ActionRateLimiter, LoginRateLimiter } from '../services/rate-limit.ts';
import type { RevokeGrant } from '../services/revocation.ts';
import type { ShortStore } from '../services/short-store.ts';
import type { SmsSender } from '../services/sms.ts';
import { renderView } from '../views.ts';
import { upstreamOrigins } from '../services/federation/providers.ts';
import { htmlSecurityHeaders } from '../routes/security-headers.ts';
import { csrfToken } from './csrf.ts';

export interface InteractionDeps {
  config: Config;
  prisma: PrismaClient;
  logger: Logger;
  loginLimiter: LoginRateLimiter;
  actionLimiter: ActionRateLimiter;
  mailer: Mailer;
  /** Per-sign-in-attempt state (keyed by interaction uid). */
  store: ShortStore;
  revokeGrant: RevokeGrant;
  sms: SmsSender;
  getProvider(): Provider;
}

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

export function requestInfo(ctx: Context, config: Config) {
  return {
    ipHash: hmacHex(config.hmacKey, ctx.ip || 'unknown'),
    userAgent: (ctx.get('user-agent') || '').slice(0, 512) || undefined,
  };
}

function originOf(uri: unknown): string | undefined {
  try {
    return typeof uri === 'string' ? new URL(uri).origin : undefined;
  } catch {
    return undefined;
  }
}

export function renderInteraction(
  ctx: Context,
  deps: InteractionDeps,
  details: InteractionDetails,
  view: string,
  data: Record<string, unknown>,
  status = 200,
): void {
  const target = originOf(details.params.redirect_uri);
  htmlSecurityHeaders(ctx, [...(target ? [target] : []), ...upstreamOrigins(deps.config)]);
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = renderView(view, {
    productName: deps.config.productName,
    uid: details.uid,
    csrf: csrfToken(ctx, deps.config.hmacKey, details.uid, deps.config.issuer.startsWith('https:')),
    ...data,
  });
}

export async function clientName(deps: InteractionDeps, clientId: unknown): Promise<string> {
  if (typeof clientId !== 'string') return 'an application';
  const client = await deps.getProvider().Client.find(clientId);
  return client?.clientName ?? clientId;
}

/** Hands the result back to the provider and redirects the browser to resume the authorization. */
export async function finishInteraction(
  ctx: Context,
  deps: InteractionDeps,
  result: Parameters<Provider['interactionResult']>[2],
  mergeWithLastSubmission = true,
): Promise<void> {
  const to = await deps.getProvider().interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
  ctx.status = 303;
  ctx.redirect(to);
}
