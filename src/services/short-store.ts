// A small key-value store with expiry for state that belongs to one sign-in attempt (for example
// "password checked, waiting for the email to be verified"): Redis when configured, so any
// instance can continue the attempt, else process memory.
import type { Redis } from 'ioredis';

export interface ShortStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  /** Reads and deletes in one step: of concurrent callers, only one gets the value (single-use state). */
  take<T>(key: string): Promise<T | undefined>;
}

export function createShortStore(redis: Redis | undefined, prefix: string): ShortStore {
  if (redis) {
    return {
      async get<T>(key: string) {
        const v = await redis.get(`${prefix}st:${key}`);
        return v === null ? undefined : (JSON.parse(v) as T);
      },
      async set(key, value, ttl) {
        await redis.set(`${prefix}st:${key}`, JSON.stringify(value), 'EX', Math.max(1, Math.ceil(ttl)));
      },
      async del(key) {
        await redis.del(`${prefix}st:${key}`);
      },
      async take<T>(key: string) {
        // MULTI is atomic on every Redis version (GETDEL needs 6.2).
        const res = await redis.multi().get(`${prefix}st:${key}`).del(`${prefix}st:${key}`).exec();
        const v = res?.[0]?.[1];
        return typeof v === 'string' ? (JSON.parse(v) as T) : undefined;
      },
    };
  }
  const map = new Map<string, { value: string; expiresAt: number }>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
  }, 60_000);
  sweep.unref();
  return {
    async get<T>(key: string) {
      const e = map.get(key);
      if (!e || e.expiresAt <= Date.now()) return undefined;
      return JSON.parse(e.value) as T;
    },
    async set(key, value, ttl) {
      map.set(key, { value: JSON.stringify(value), expiresAt: Date.now() + ttl * 1000 });
    },
    async del(key) {
      map.delete(key);
    },
    async take<T>(key: string) {
      const e = map.get(key);
      map.delete(key);
      return e && e.expiresAt > Date.now() ? (JSON.parse(e.value) as T) : undefined;
    },
  };
}
