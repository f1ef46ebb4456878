// Client rows are read on every token, userinfo and authorization request; they change rarely
// (CLI, admin API, dynamic registration). Each process keeps them in memory and drops an entry
// when the change feed says its row changed anywhere.
import type { ChangeFeed } from '../db/change-feed.ts';

export type ClientRow = Record<string, unknown>;

export class ClientCache {
  // null caches "no such client" too: unknown client_ids are exactly what a flood would send.
  readonly #rows = new Map<string, ClientRow | null>();
  // Bumped on every invalidation. A read that overlapped one may hold the old row and is not kept.
  #generation = 0;
  #feed: ChangeFeed | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly maxEntries = 10_000) {}

  /** Without a feed, or while it is not live, every lookup goes to the database. */
  attach(feed: ChangeFeed): void {
    this.#unsubscribe?.();
    this.#feed = feed;
    this.#unsubscribe = feed.on('clients', (id) => (id === '*' ? this.clear() : this.invalidate(id)));
    this.clear();
  }

  async load(id: string, read: () => Promise<ClientRow | null>): Promise<ClientRow | null> {
    if (!this.#feed?.live) return read();
    const cached = this.#rows.get(id);
    // The cached row is deeply frozen and handed out as it is: the provider only reads it (it hashes
    // it and copies what it needs), and a write would throw rather than alter the next request's
    // view. Cloning it per request cost ~2% of a token request's CPU.
    if (cached !== undefined) return cached;
    const generation = this.#generation;
    const row = await read();
    if (generation === this.#generation && this.#feed.live) {
      if (this.#rows.size >= this.maxEntries) this.#rows.delete(this.#rows.keys().next().value as string);
      this.#rows.set(id, row === null ? null : deepFreeze(structuredClone(row)));
    }
    return row;
  }

  invalidate(id: string): void {
    this.#generation++;
    this.#rows.delete(id);
  }

  clear(): void {
    this.#generation++;
    this.#rows.clear();
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#feed = undefined;
    this.#rows.clear();
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
