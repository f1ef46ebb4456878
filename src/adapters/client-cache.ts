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
    // A copy each time: the provider must not be able to alter what the next request sees.
    if (cached !== undefined) return structuredClone(cached);
    const generation = this.#generation;
    const row = await read();
    if (generation === this.#generation && this.#feed.live) {
      if (this.#rows.size >= this.maxEntries) this.#rows.delete(this.#rows.keys().next().value as string);
      this.#rows.set(id, structuredClone(row));
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
