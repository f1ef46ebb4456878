// Brute-force protection with rate-limiter-flexible: counters in Redis (in process memory in the
// embedded default), consumed atomically BEFORE the password is checked, so 50 concurrent guesses
// against one account get at most `points` password checks (cf. GHSA-7h8m-vrxx-vr4m).
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { hmacHex } from './crypto.ts';

export interface LoginLimits {
  /** Failed sign-ins per account per window before the account is locked for sign-in. */
  accountPoints: number;
  accountWindowSeconds: number;
  /** Sign-in attempts per client IP per window, across accounts. */
  ipPoints: number;
  ipWindowSeconds: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  accountPoints: 5,
  accountWindowSeconds: 15 * 60,
  ipPoints: 100,
  ipWindowSeconds: 15 * 60,
};

export class RateLimitedError extends Error {
  constructor(readonly retryAfterSeconds: number, readonly scope: string) {
    super('too many attempts');
  }
}

function limiter(redis: Redis | undefined, keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
  return redis
    ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration })
    : new RateLimiterMemory({ keyPrefix, points, duration });
}

export class LoginRateLimiter {
  readonly #account: RateLimiterAbstract;
  readonly #ip: RateLimiterAbstract;

  constructor(
    redis: Redis | undefined,
    private readonly hmacKey: Buffer,
    prefix: string,
    readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  ) {
    this.#account = limiter(redis, `${prefix}rl:login:acct`, limits.accountPoints, limits.accountWindowSeconds);
    this.#ip = limiter(redis, `${prefix}rl:login:ip`, limits.ipPoints, limits.ipWindowSeconds);
  }

  // Keys are keyed hashes: Redis never holds an identifier or an IP address in clear.
  #accountKey(login: string) {
    return hmacHex(this.hmacKey, `login:${login.trim().toLowerCase()}`);
  }

  /**
   * Takes one attempt from the account's and the IP's budgets, or throws RateLimitedError.
   * Unknown identifiers are counted the same way, so a lock says nothing about existence.
   */
  async consume(login: string, ipHash: string): Promise<void> {
    try {
      await this.#ip.consume(ipHash);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.ceil(res.msBeforeNext / 1000), 'ip');
      throw res;
    }
    try {
      await this.#account.consume(this.#accountKey(login));
    } catch (res) {
      if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.ceil(res.msBeforeNext / 1000), 'account');
      throw res;
    }
  }

  /** A successful sign-in clears the account's failures (the IP budget keeps counting). */
  async reset(login: string): Promise<void> {
    await this.#account.delete(this.#accountKey(login));
  }
}

/**
 * Limits on requests that send mail or create accounts, so nobody can flood a mailbox or mass-register:
 * [points, window seconds] per action and key. Keys are HMACs like the login keys.
 */
export const ACTION_LIMITS = {
  register_ip: [10, 3600],
  reset_email: [3, 3600],
  reset_ip: [20, 3600],
  verify_resend: [5, 3600],
  email_change: [5, 3600],
  // Second-factor codes: like passwords, 5 wrong ones per account per 15 minutes.
  mfa_code: [5, 900],
  // Text messages cost money and can be used to harass: 3 per user per 15 minutes.
  sms_send: [3, 900],
} as const satisfies Record<string, readonly [number, number]>;

export type LimitedAction = keyof typeof ACTION_LIMITS;

export class ActionRateLimiter {
  readonly #limiters: Record<LimitedAction, RateLimiterAbstract>;

  constructor(redis: Redis | undefined, private readonly hmacKey: Buffer, prefix: string) {
    this.#limiters = Object.fromEntries(
      Object.entries(ACTION_LIMITS).map(([action, [points, duration]]) => [action, limiter(redis, `${prefix}rl:${action}`, points, duration)]),
    ) as Record<LimitedAction, RateLimiterAbstract>;
  }

  /** Gives the whole budget back (a correct code clears earlier failures). */
  async reset(action: LimitedAction, key: string): Promise<void> {
    await this.#limiters[action].delete(hmacHex(this.hmacKey, `${action}:${key.trim().toLowerCase()}`));
  }

  /** Takes one request from the budget of (action, key), or throws RateLimitedError. */
  async consume(action: LimitedAction, key: string): Promise<void> {
    try {
      await this.#limiters[action].consume(hmacHex(this.hmacKey, `${action}:${key.trim().toLowerCase()}`));
    } catch (res) {
      if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.ceil(res.msBeforeNext / 1000), action);
      throw res;
    }
  }
}

/** "Try again in N minutes" for a page. */
export function retryMessage(err: RateLimitedError): string {
  const minutes = Math.max(1, Math.ceil(err.retryAfterSeconds / 60));
  return `Too many requests. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}
