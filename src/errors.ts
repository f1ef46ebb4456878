// One error class for our own HTTP errors, and the classification of backend outages (answered
// 503 so load balancers and clients retry, instead of a 500 that looks like our bug).
export class HttpError extends Error {
  readonly expose = true;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function assertThat(condition: unknown, error: HttpError): asserts condition {
  if (!condition) throw error;
}

/**
 * An outage of PostgreSQL or Redis. Shaped like an oidc-provider error (statusCode, expose,
 * error_description) so the provider's own error handler answers 503 temporarily_unavailable.
 */
export class ServiceUnavailableError extends Error {
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly error = 'temporarily_unavailable';
  readonly error_description = 'the service is temporarily unavailable, retry later';
  constructor(readonly backend: string, cause?: unknown) {
    super('temporarily_unavailable', { cause });
    this.name = 'ServiceUnavailableError';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN',
  'P1001', 'P1002', 'P1017', 'P2024', '57P01', '57P02', '57P03', '08000', '08003', '08006',
]);

const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /connection is closed/i,
  /timeout exceeded when trying to connect/i,
  /Connection terminated unexpectedly/i,
  /Reached the max retries per request limit/i,
  /Stream isn't writeable/i,
  /Client has encountered a connection error/i,
  /Can't reach database server/i,
  /the database system is (shutting down|starting up)/i,
  /ECONNREFUSED/,
];

/** True when `err` (or its cause chain) says a backend could not be reached. */
export function isBackendDown(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  if (err instanceof ServiceUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; name?: string; errors?: unknown[] };
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isBackendDown(x, depth + 1))) return true;
  return isBackendDown(e.cause, depth + 1);
}
