// The provider's `adapter` option: routes each model to the store that suits its lifetime.
// Long-lived state (sessions, grants, refresh tokens, clients) goes to the database; short-lived
// artifacts (codes, access tokens, interactions, ...) go to Redis, or to process memory when
// there is no Redis. A grant's tokens span both stores, so grant revocation always reaches both.
import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import { createChangeFeed, type ChangeFeed } from '../db/change-feed.ts';
import type { Database } from '../db/client.ts';
import { ClientCache } from './client-cache.ts';
import { LONG_LIVED, type StoreHooks } from './codec.ts';
import { MemoryStore } from './memory-adapter.ts';
import { PrismaStore, type LongLivedModel } from './prisma-adapter.ts';
import { RedisStore, type RedisClient } from './redis-adapter.ts';

export interface AdapterFactoryDeps {
  db: Database;
  /** Short-lived artifacts go here when given; otherwise to process memory (single node only). */
  redis?: RedisClient;
  /** Prefix of every Redis key this factory writes. */
  keyPrefix?: string;
  /**
   * Invalidates the per-process client cache. On PGlite the factory opens one itself when none is
   * given; on PostgreSQL pass the process's shared feed, or clients are read from the database
   * on every lookup (correct, only slower).
   */
  changeFeed?: ChangeFeed;
  /** The in-process store to use without Redis; the caller then owns and closes it. */
  memory?: MemoryStore;
}

export interface AdapterFactory {
  /** For oidc-provider's `adapter` configuration option. */
  Adapter: AdapterConstructor;
  /** Revokes a grant entirely: its row and every token issued under it, in both stores. */
  revokeByGrantId(grantId: string): Promise<void>;
  close(): Promise<void>;
}

interface ShortLivedStore {
  adapter(model: string, hooks?: StoreHooks): Adapter;
  revokeByGrantId(grantId: string): Promise<void>;
}

export function createAdapterFactory(deps: AdapterFactoryDeps): AdapterFactory {
  const clients = new ClientCache();
  const long = new PrismaStore(deps.db, clients);
  const ownMemory = !deps.redis && !deps.memory ? new MemoryStore() : undefined;
  const short: ShortLivedStore = deps.redis ? new RedisStore(deps.redis, deps.keyPrefix ?? '') : (deps.memory ?? ownMemory!);

  let ownFeed: Promise<ChangeFeed | undefined> | undefined;
  if (deps.changeFeed) clients.attach(deps.changeFeed);
  else if (deps.db.kind === 'pglite') {
    // Until it listens (and if it never does) the cache stays off: slower, never stale.
    ownFeed = createChangeFeed(deps.db).then(
      (feed) => (clients.attach(feed), feed),
      () => undefined,
    );
  }

  // The provider revokes a grant by calling revokeByGrantId on every token model at once, and each
  // of those reaches both stores: concurrent calls for one grant share a single pass.
  const inflight = new Map<string, Promise<void>>();
  function revokeTokens(grantId: string): Promise<void> {
    let pass = inflight.get(grantId);
    if (!pass) {
      pass = Promise.all([long.revokeRefreshTokens(grantId), short.revokeByGrantId(grantId)])
        .then(() => undefined)
        .finally(() => inflight.delete(grantId));
      inflight.set(grantId, pass);
    }
    return pass;
  }
  async function revokeGrant(grantId: string): Promise<void> {
    await Promise.all([revokeTokens(grantId), long.destroyGrant(grantId)]);
  }
  // A lost consume race is reuse of a code or refresh token: the grant goes (RFC 6749 §4.1.2,
  // OAuth 2.0 Security BCP §4.14), row included, so tokens the winner is still issuing die with it.
  const hooks: StoreHooks = { onReuse: revokeGrant };

  class RoutedAdapter implements Adapter {
    readonly #inner: Adapter;

    constructor(private readonly name: string) {
      this.#inner = LONG_LIVED.has(name) ? long.adapter(name as LongLivedModel, hooks) : short.adapter(name, hooks);
    }

    upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      return this.#inner.upsert(id, payload, expiresIn);
    }

    find(id: string) {
      return this.#inner.find(id);
    }

    findByUid(uid: string) {
      return this.#inner.findByUid(uid);
    }

    findByUserCode(userCode: string) {
      return this.#inner.findByUserCode(userCode);
    }

    consume(id: string) {
      return this.#inner.consume(id);
    }

    destroy(id: string) {
      return this.#inner.destroy(id);
    }

    // The provider's revoke() calls this on token models and decides separately (revokeGrantPolicy)
    // whether the Grant row goes too, through Grant.destroy. So token models revoke tokens only;
    // the Grant model, which the provider never asks, revokes everything.
    revokeByGrantId(grantId: string) {
      return this.name === 'Grant' ? revokeGrant(grantId) : revokeTokens(grantId);
    }
  }

  return {
    Adapter: RoutedAdapter,
    revokeByGrantId: revokeGrant,
    async close() {
      clients.close();
      await (await ownFeed)?.close();
      await ownMemory?.close();
    },
  };
}

export { MemoryStore, type MemoryStoreOptions } from './memory-adapter.ts';
export { RedisStore, type RedisClient } from './redis-adapter.ts';
