// The in-process store for short-lived artifacts when no Redis is configured (the single-node
// embedded default). Same key layout and semantics as the Redis store, so one contract suite
// covers both; everything is lost on restart, which only logs users out of half-finished flows.
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

type Entry =
  | { kind: 'record'; payload: string; consumed?: number; expiresAt: number }
  | { kind: 'index'; members: Map<string, number>; expiresAt: number }
  | { kind: 'ref'; value: string; expiresAt: number };

export interface MemoryStoreOptions {
  /** How often expired entries are dropped; lazy expiry alone would keep unread ones for ever. */
  sweepIntervalMs?: number;
  /** Hard cap: past it the oldest entries are evicted, so a flood cannot exhaust the heap. */
  maxEntries?: number;
}

export class MemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #timer: NodeJS.Timeout;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#maxEntries = opts.maxEntries ?? 200_000;
    this.#timer = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? 30_000);
    // A store must not keep a process alive that has nothing else to do.
    this.#timer.unref();
  }

  adapter(model: string, hooks?: StoreHooks): Adapter {
    return new MemoryAdapter(this, model, hooks);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const index = this.get(grantKey(grantId));
    if (index?.kind !== 'index') return;
    for (const key of index.members.keys()) this.#entries.delete(key);
    this.#entries.delete(grantKey(grantId));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#entries.clear();
  }

  /** Entries held, expired or not: what the heap pays for (a metric worth exporting). */
  get size(): number {
    return this.#entries.size;
  }

  /** Every live key with its stored value, as text: for diagnostics and for tests of what is kept. */
  dump(): Array<[string, string]> {
    this.sweep();
    return [...this.#entries].map(([key, e]) => [
      key,
      e.kind === 'record' ? `${e.payload} consumed=${e.consumed ?? ''}` : e.kind === 'ref' ? e.value : [...e.members.keys()].join(' '),
    ]);
  }

  sweep(): void {
    const now = Date.now();
    for (const [key, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(key);
  }

  get(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && e.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, entry: Entry): void {
    // Re-inserting moves the key to the end of the Map's order, which is what eviction relies on.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxEntries) this.#shrink();
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #shrink(): void {
    this.sweep();
    const excess = this.#entries.size - Math.floor(this.#maxEntries * 0.9);
    if (excess <= 0) return;
    let n = 0;
    for (const key of this.#entries.keys()) {
      if (n++ >= excess) break;
      this.#entries.delete(key);
    }
  }
}

const grantKey = (grantId: string) => `grant:{${grantId}}`;

class MemoryAdapter implements Adapter {
  constructor(
    private readonly store: MemoryStore,
    private readonly model: string,
    private readonly hooks?: StoreHooks,
  ) {}

  #key(hash: string) {
    return `${this.model}:${hash}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const ttl = ttlSeconds(expiresIn, payload);
    const hash = storageHash(id);
    const key = this.#key(hash);
    if (ttl <= 0) return this.store.delete(key);
    const expiresAt = Date.now() + ttl * 1000;
    // Once used, stays used: saving an instance loaded before a concurrent consume keeps the mark.
    const prev = this.store.get(key);
    const consumed =
      (prev?.kind === 'record' ? prev.consumed : undefined) ??
      (typeof payload.consumed === 'number' ? payload.consumed : undefined);
    this.store.set(key, { kind: 'record', payload: JSON.stringify(toStored(payload)), consumed, expiresAt });

    if (GRANTABLE.has(this.model) && payload.grantId) {
      const gk = grantKey(payload.grantId);
      const index = this.store.get(gk);
      const members = index?.kind === 'index' ? index.members : new Map<string, number>();
      members.set(key, expiresAt);
      let last = 0;
      const now = Date.now();
      for (const [k, exp] of members) {
        if (exp <= now) members.delete(k);
        else last = Math.max(last, exp);
      }
      this.store.set(gk, { kind: 'index', members, expiresAt: last });
    }
    if (this.model === 'Session' && typeof payload.uid === 'string') {
      this.store.set(`${this.model}:uid:${sha256hex(payload.uid)}`, { kind: 'ref', value: hash, expiresAt });
    }
    if (typeof payload.userCode === 'string') {
      const value = sealId(payload.userCode, id);
      this.store.set(`${this.model}:userCode:${sha256hex(payload.userCode)}`, { kind: 'ref', value, expiresAt });
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#read(sha256hex(id), id);
  }

  #read(hash: string, jti: string): AdapterPayload | undefined {
    const e = this.store.get(this.#key(hash));
    if (e?.kind !== 'record') return undefined;
    return fromStored(JSON.parse(e.payload), jti, e.consumed);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const ref = this.store.get(`${this.model}:uid:${sha256hex(uid)}`);
    if (ref?.kind !== 'ref') return undefined;
    return this.#read(ref.value, hashRef(ref.value));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const ref = this.store.get(`${this.model}:userCode:${sha256hex(userCode)}`);
    const id = ref?.kind === 'ref' ? openId(userCode, ref.value) : undefined;
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id: string): Promise<void> {
    // The check and the write happen in one synchronous step, so the first caller wins.
    const e = this.store.get(this.#key(sha256hex(id)));
    if (e?.kind !== 'record') throw alreadyUsed(this.model);
    if (e.consumed === undefined) {
      e.consumed = epochSeconds();
      return;
    }
    const { grantId } = JSON.parse(e.payload) as AdapterPayload;
    if (grantId && this.hooks) await this.hooks.onReuse(grantId);
    throw alreadyUsed(this.model);
  }

  async destroy(id: string): Promise<void> {
    // Index entries pointing here are left to expire: a lookup through them finds nothing.
    this.store.delete(this.#key(storageHash(id)));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.store.revokeByGrantId(grantId);
  }
}
