// Why a federated sign-in failed, in three kinds the pages explain differently:
// unavailable (network, timeout, 5xx), denied (the upstream answered with an error, e.g. the person
// cancelled), refused (the answer did not pass our checks: state, iss, nonce, ID token, code).
import * as oidc from 'openid-client';

export type UpstreamErrorKind = 'unavailable' | 'denied' | 'refused';

export class UpstreamError extends Error {
  constructor(readonly kind: UpstreamErrorKind, readonly detail: string, options?: { cause?: unknown }) {
    super(`upstream ${kind}: ${detail}`, options);
    this.name = 'UpstreamError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

function unreachable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { name?: string; code?: unknown; message?: string; cause?: unknown; status?: number };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.name === 'TypeError' && e.message === 'fetch failed') return true;
  if (err instanceof Response && err.status >= 500) return true;
  return unreachable(e.cause, depth + 1);
}

/** Classifies anything thrown while talking to an upstream. Messages carry no token. */
export function upstreamFailure(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (err instanceof oidc.AuthorizationResponseError) return new UpstreamError('denied', err.error, { cause: err });
  if (unreachable(err)) return new UpstreamError('unavailable', (err as Error).message ?? 'unreachable', { cause: err });
  if (err instanceof oidc.ResponseBodyError) return new UpstreamError('refused', err.error, { cause: err });
  const code = (err as { code?: unknown }).code;
  return new UpstreamError('refused', typeof code === 'string' ? code : ((err as Error).message ?? 'invalid response'), { cause: err });
}
