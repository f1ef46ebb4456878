// Short-lived artifacts in Redis: one hash per artifact under a hashed key, with a TTL on every key.
// Every command and script touches a single key, and writes that span keys are sent as separate
// commands, so the layout works on Redis Cluster, where keys of one grant hash to different slots.
import type { Cluster, Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import {
  alreadyUsed,
  epochSeconds,
  fromStored,
  GRANTABLE,
  hashRef,
  openId,
  sealId,
  sha256hex,
  storageHash,
  type StoreHooks,
  toStored,
  ttlSeconds,
} from './codec.ts';

export type RedisClient = Redis | Cluster;

// First wins: HSETNX sets `consumed` only if no one has. Checking that the artifact exists first
// keeps a consume of an expired key from recreating it as a hash without a TTL.
const CONSUME = `
local p = redis.call('HGET', KEYS[1], 'payload')
if not p then return {-1} end
if redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1]) == 1 then return {1} end
return {0, p}`;

// Replaces the artifact in one step on one key. A consumed mark survives the write: a request that
// loaded the artifact before a concurrent consume must not make it usable again by saving it.
const UPSERT = `
local consumed = redis.call('HGET', KEYS[1], 'consumed')
if not consumed and ARGV[3] ~= '' then consumed = ARGV[3] end
redis.call('DEL', KEYS[1])
if consumed then
  redis.call('HSET', KEYS[1], 'payload', ARGV[1], 'consumed', consumed)
else
  redis.call('HSET', KEYS[1], 'payload', ARGV[1])
end
return redis.call('EXPIRE', KEYS[1], ARGV[2])`;

// The grant index must outlive its longest-lived member, and must never lose a TTL it had.
const INDEX_ADD = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return 1`;

export class RedisStore {
  constructor(
    readonly redis: RedisClient,
    /** Namespaces every key, so several deployments (or test runs) can share one Redis. */
    readonly prefix = '',
  ) {}

  adapter(model: string, hooks?: StoreHooks): Adapter {
    return new RedisAdapter(this, model, hooks);
  }

  /** The braces are a hash tag: a future multi-key operation on one grant's index stays in one slot. */
  grantKey(grantId: string): string {
    return `${this.prefix}grant:{${grantId}}`;
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const index = this.grantKey(grantId);
    const keys = await this.redis.smembers(index);
    // Members first: if this fails halfway, the index survives and a retry still finds them.
    await Promise.all(keys.map((k) => this.redis.del(k)));
    await this.redis.del(index);
  }
}

class RedisAdapter implements Adapter {
  readonly #redis: RedisClient;
  readonly #base: string;

  constructor(
    private readonly store: RedisStore,
    private readonly model: string,
    private readonly hooks?: StoreHooks,
  ) {
    this.#redis = store.redis;
    this.#base = `${store.prefix}${model}:`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const hash = storageHash(id);
    const key = this.#base + hash;
    const ttl = ttlSeconds(expiresIn, payload);
    if (ttl <= 0) {
      await this.#redis.del(key);
      return;
    }
    const consumed = typeof payload.consumed === 'number' ? String(payload.consumed) : '';
    const writes: Promise<unknown>[] = [
      this.#redis.eval(UPSERT, 1, key, JSON.stringify(toStored(payload)), ttl, consumed),
    ];
    if (GRANTABLE.has(this.model) && payload.grantId) {
      writes.push(this.#redis.eval(INDEX_ADD, 1, this.store.grantKey(payload.grantId), key, ttl));
    }
    if (this.model === 'Session' && typeof payload.uid === 'string') {
      writes.push(this.#redis.set(`${this.#base}uid:${sha256hex(payload.uid)}`, hash, 'EX', ttl));
    }
    if (typeof payload.userCode === 'string') {
      const sealed = sealId(payload.userCode, id);
      writes.push(this.#redis.set(`${this.#base}userCode:${sha256hex(payload.userCode)}`, sealed, 'EX', ttl));
    }
    // If one write fails the upsert rejects and the provider never hands out the value, so an
    // artifact left without its index entry is unreachable rather than unrevocable.
    await Promise.all(writes);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#read(sha256hex(id), id);
  }

  async #read(hash: string, jti: string): Promise<AdapterPayload | undefined> {
    const [payload, consumed] = await this.#redis.hmget(this.#base + hash, 'payload', 'consumed');
    if (!payload) return undefined;
    return fromStored(JSON.parse(payload), jti, consumed ? Number(consumed) : undefined);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const hash = await this.#redis.get(`${this.#base}uid:${sha256hex(uid)}`);
    return hash ? this.#read(hash, hashRef(hash)) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const sealed = await this.#redis.get(`${this.#base}userCode:${sha256hex(userCode)}`);
    const id = sealed ? openId(userCode, sealed) : undefined;
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id: string): Promise<void> {
    const [won, payload] = (await this.#redis.eval(CONSUME, 1, this.#base + sha256hex(id), epochSeconds())) as [
      number,
      string?,
    ];
    if (won === 1) return;
    if (won === 0 && payload && this.hooks) {
      const { grantId } = JSON.parse(payload) as AdapterPayload;
      if (grantId) await this.hooks.onReuse(grantId);
    }
    throw alreadyUsed(this.model);
  }

  async destroy(id: string): Promise<void> {
    // Index entries pointing here are left to expire: a lookup through them finds nothing.
    await this.#redis.del(this.#base + storageHash(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.store.revokeByGrantId(grantId);
  }
}
