// Tells this process when rows it caches (clients, resource servers, signing keys) change anywhere:
// another node, the CLI, the admin API, psql. A trigger (migration change_notify) sends
// pg_notify('idserver_cache', '<table>:<primary key>') at commit; we LISTEN and fan out per table.
import pg from 'pg';
import type { Database } from './client.ts';

export const CHANGE_CHANNEL = 'idserver_cache';

/** Receives the changed row's primary key, or '*' when every cached row must be dropped. */
export type ChangeListener = (id: string) => void;

export interface ChangeFeed {
  on(table: string, listener: ChangeListener): () => void;
  /**
   * False while changes could be missed (connection down, or no feed in this process). A cache
   * must not keep what it reads then, since nothing would tell it that the copy went stale.
   */
  readonly live: boolean;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  /** Connection trouble; the feed reconnects by itself. */
  onError?: (err: Error) => void;
  /** Upper bound of the reconnect backoff (default 30 s). */
  maxBackoffMs?: number;
  /** Interval of the liveness query that catches a silently dead connection (default 30 s). */
  pingIntervalMs?: number;
  /** Embedded mode: how often to look for changes made through the socket (default 1 s). */
  pollIntervalMs?: number;
}

class Fanout {
  readonly #listeners = new Map<string, Set<ChangeListener>>();

  on(table: string, listener: ChangeListener): () => void {
    let set = this.#listeners.get(table);
    if (!set) this.#listeners.set(table, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  notify(payload: string | undefined): void {
    const i = payload?.indexOf(':') ?? -1;
    // The table name never contains ':', the key may (client ids can be URLs).
    if (!payload || i < 1) return;
    this.#emit(this.#listeners.get(payload.slice(0, i)), payload.slice(i + 1));
  }

  reset(): void {
    for (const set of this.#listeners.values()) this.#emit(set, '*');
  }

  #emit(set: Set<ChangeListener> | undefined, id: string): void {
    for (const listener of set ?? []) {
      try {
        listener(id);
      } catch {
        // One broken cache must not keep the others from hearing about the change.
      }
    }
  }
}

export async function createChangeFeed(
  db: Database,
  databaseUrl?: string,
  opts: ChangeFeedOptions = {},
): Promise<ChangeFeed> {
  const fanout = new Fanout();
  if (db.kind === 'pglite') {
    if (!db.pglite) throw new TypeError('embedded database without its PGlite instance');
    // NOTIFY from our own writes reaches our own LISTEN.
    const unlisten = await db.pglite.listen(CHANGE_CHANNEL, (payload) => fanout.notify(payload));
    // Writes made by the CLI through the socket server (pglite-socket) do not reach PGlite's
    // listen(): a cheap fingerprint of the cached tables, polled once a second, covers them.
    const poller = new FingerprintPoller(db, fanout, opts.pollIntervalMs ?? 1000);
    await poller.start();
    // Closing after the PGlite instance is gone has nothing left to undo.
    return {
      on: fanout.on.bind(fanout),
      live: true,
      close: async () => {
        poller.stop();
        await unlisten().catch(() => {});
      },
    };
  }
  if (db.kind === 'pglite-socket') {
    // A short-lived process (the CLI) talking to the server's PGlite: it caches nothing.
    return { on: fanout.on.bind(fanout), live: false, close: async () => {} };
  }
  if (!databaseUrl) throw new TypeError('createChangeFeed: databaseUrl is required on PostgreSQL');
  return PgListener.start(databaseUrl, fanout, opts);
}

/** A dedicated connection: LISTEN is per session, and a pooled session would be handed out and lost. */
class PgListener implements ChangeFeed {
  #client: pg.Client | undefined;
  #closed = false;
  #attempt = 0;
  #retry: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly fanout: Fanout,
    private readonly opts: ChangeFeedOptions,
  ) {}

  static async start(url: string, fanout: Fanout, opts: ChangeFeedOptions): Promise<PgListener> {
    const feed = new PgListener(url, fanout, opts);
    // The first connection must work: a wrong URL should stop the boot, not retry for ever.
    await feed.#connect();
    return feed;
  }

  get live(): boolean {
    return this.#client !== undefined;
  }

  on(table: string, listener: ChangeListener): () => void {
    return this.fanout.on(table, listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#ping);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'idserver-change-feed',
    });
    client.on('notification', (msg) => {
      if (msg.channel === CHANGE_CHANNEL) this.fanout.notify(msg.payload);
    });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#attempt = 0;
    this.#ping = setInterval(() => {
      client.query('SELECT 1').catch((err: Error) => this.#lost(client, err));
    }, this.opts.pingIntervalMs ?? 30_000);
    this.#ping.unref();
  }

  #lost(client: pg.Client, err?: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    clearInterval(this.#ping);
    client.removeAllListeners('end');
    client.end().catch(() => {});
    if (err) this.opts.onError?.(err);
    // Whatever changed from now until we listen again goes unheard: drop every cached row now
    // (caches do not refill while the feed is not live) and again once we listen.
    this.fanout.reset();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    const cap = this.opts.maxBackoffMs ?? 30_000;
    const base = Math.min(cap, 250 * 2 ** this.#attempt++);
    // Jitter, so that every node of a cluster does not reconnect in the same instant.
    this.#retry = setTimeout(() => {
      this.#connect().then(
        () => {
          if (!this.#closed) this.fanout.reset();
        },
        (err: Error) => {
          this.opts.onError?.(err);
          this.#schedule();
        },
      );
    }, base / 2 + Math.random() * (base / 2));
    this.#retry.unref();
  }
}

const FINGERPRINT_SQL = `
SELECT 'clients' AS t, md5(coalesce(string_agg(id || '@' || updated_at::text, ',' ORDER BY id), '')) AS f FROM clients
UNION ALL
SELECT 'resource_servers', md5(coalesce(string_agg(identifier || '@' || scope || '@' || coalesce(access_token_ttl::text, ''), ',' ORDER BY identifier), '')) FROM resource_servers
UNION ALL
SELECT 'signing_keys', md5(coalesce(string_agg(kid || '@' || status::text, ',' ORDER BY kid), '')) FROM signing_keys
UNION ALL
SELECT 'federation_providers', md5(coalesce(string_agg(id || '@' || updated_at::text, ',' ORDER BY id), '')) FROM federation_providers`;

class FingerprintPoller {
  #last = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(
    private readonly db: Database,
    private readonly fanout: Fanout,
    private readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    await this.#check();
    this.#timer = setInterval(() => void this.#check(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #check(): Promise<void> {
    if (this.#busy) return;
    // A CLI transaction open on the shared PGlite session: reading now would see its uncommitted
    // rows (one session serves every socket client). Look again on the next tick, after its commit.
    if (this.db.pglite?.isInTransaction()) return;
    this.#busy = true;
    try {
      const { rows } = await this.db.sql.query<{ t: string; f: string }>(FINGERPRINT_SQL);
      for (const { t, f } of rows) {
        const before = this.#last.get(t);
        this.#last.set(t, f);
        if (before !== undefined && before !== f) this.fanout.notify(`${t}:*`);
      }
    } catch {
      // Tables not migrated yet, or the database closing: the next tick tries again.
    } finally {
      this.#busy = false;
    }
  }
}
