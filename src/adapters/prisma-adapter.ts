// Long-lived provider state in PostgreSQL (or PGlite): sessions, grants, refresh tokens, clients.
// Rows have typed columns (who, which client, until when) so that account pages, the admin API and
// cleanup jobs can query them; the provider's own view stays in `payload`.
// Session ids and refresh tokens are bearer values: rows are keyed by their SHA-256 and the value
// (the payload's jti) is never written. Grant ids are not bearer secrets and are stored as they are.
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/client.ts';
import type { ClientCache } from './client-cache.ts';
import { epochSeconds, fromStored, hashRef, sha256hex, storageHash, type StoreHooks, toStored, ttlSeconds } from './codec.ts';

export type LongLivedModel = 'Session' | 'Grant' | 'RefreshToken' | 'Client';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// user_id references users(id). accountId comes from findAccount and is a users.id in production,
// but may name no row: a user deleted during the flow, or a test account. Rather than let the FK
// fail the login, user_id is filled from a sub-select in the same statement and is NULL when there
// is no such user; the payload still carries accountId, which is what the provider reads.
const USER_ID = (param: string) => `(SELECT id FROM users WHERE id = ${param}::uuid)`;
const userIdParam = (accountId: unknown) => (typeof accountId === 'string' && UUID.test(accountId) ? accountId : null);

// ON CONFLICT (uid): a session keeps its uid when the provider rotates its id at login. The provider
// destroys the old row first, but two requests rotating the same session at once would otherwise
// fail on the unique uid; this way the later one re-keys the row.
const UPSERT_SESSION = `
INSERT INTO sessions (id, uid, user_id, payload, expires_at)
VALUES ($1, $2, ${USER_ID('$3')}, $4::jsonb, $5::timestamptz)
ON CONFLICT (uid) DO UPDATE SET id = EXCLUDED.id, user_id = EXCLUDED.user_id, payload = EXCLUDED.payload,
  expires_at = EXCLUDED.expires_at, last_active_at = now()`;

const UPSERT_GRANT = `
INSERT INTO grants (id, user_id, client_id, payload, expires_at)
VALUES ($1, ${USER_ID('$2')}, $3, $4::jsonb, $5::timestamptz)
ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, client_id = EXCLUDED.client_id,
  payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at`;

// A write never clears consumed_at: once used, a refresh token stays used.
const UPSERT_REFRESH_TOKEN = `
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, payload, expires_at, consumed_at)
VALUES ($1, $2, $3, ${USER_ID('$4')}, $5::jsonb, $6::timestamptz, $7::timestamptz)
ON CONFLICT (token_hash) DO UPDATE SET grant_id = EXCLUDED.grant_id, client_id = EXCLUDED.client_id,
  user_id = EXCLUDED.user_id, payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at,
  consumed_at = COALESCE(refresh_tokens.consumed_at, EXCLUDED.consumed_at)`;

/** A bounded set of recent misses (insertion-ordered Map as a FIFO). */
export class MissCache {
  #seen = new Map<string, number>();
  constructor(
    private readonly max = 50_000,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  has(key: string): boolean {
    const at = this.#seen.get(key);
    if (at === undefined) return false;
    if (Date.now() - at > this.ttlMs) {
      this.#seen.delete(key);
      return false;
    }
    return true;
  }

  add(key: string): void {
    if (this.#seen.size >= this.max) this.#seen.delete(this.#seen.keys().next().value as string);
    this.#seen.set(key, Date.now());
  }

  delete(key: string): void {
    this.#seen.delete(key);
  }
}

export class PrismaStore {
  readonly refreshMisses = new MissCache();
  constructor(
    readonly db: Database,
    readonly clients: ClientCache,
  ) {}

  adapter(model: LongLivedModel, hooks?: StoreHooks): Adapter {
    return new PrismaAdapter(this, model, hooks);
  }

  async revokeRefreshTokens(grantId: string): Promise<void> {
    await this.db.prisma.refreshToken.deleteMany({ where: { grantId } });
  }

  async destroyGrant(grantId: string): Promise<void> {
    await this.db.prisma.grant.deleteMany({ where: { id: grantId } });
  }
}

class PrismaAdapter implements Adapter {
  constructor(
    private readonly store: PrismaStore,
    private readonly model: LongLivedModel,
    private readonly hooks?: StoreHooks,
  ) {}

  get #prisma() {
    return this.store.db.prisma;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.model === 'Client') return this.#upsertClient(id, payload);
    const ttl = ttlSeconds(expiresIn, payload);
    if (ttl <= 0) return this.destroy(id);
    const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
    const json = JSON.stringify(toStored(payload));
    const userId = userIdParam(payload.accountId);
    const { sql } = this.store.db;
    switch (this.model) {
      case 'Session':
        await sql.query(UPSERT_SESSION, [storageHash(id), payload.uid, userId, json, expiresAt]);
        return;
      case 'Grant':
        await sql.query(UPSERT_GRANT, [id, userId, payload.clientId, json, expiresAt]);
        return;
      case 'RefreshToken': {
        const consumedAt = typeof payload.consumed === 'number' ? new Date(payload.consumed * 1000).toISOString() : null;
        this.store.refreshMisses.delete(storageHash(id));
        await sql.query(UPSERT_REFRESH_TOKEN, [
          storageHash(id), payload.grantId, payload.clientId, userId, json, expiresAt, consumedAt,
        ]);
      }
    }
  }

  async #upsertClient(id: string, payload: AdapterPayload): Promise<void> {
    const metadata = payload as object;
    // The provider writes clients only through dynamic registration (and its management API);
    // operator-managed clients are written by the CLI and admin API, which set dynamic themselves.
    await this.#prisma.client.upsert({
      where: { id },
      create: { id, payload: metadata, dynamic: true },
      update: { payload: metadata },
    });
    // Our own write is visible at once here; other processes hear of it through the change feed.
    this.store.clients.invalidate(id);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const now = new Date();
    switch (this.model) {
      case 'Session': {
        const row = await this.#prisma.session.findUnique({ where: { id: sha256hex(id) }, select: { payload: true, expiresAt: true } });
        return row && row.expiresAt > now ? fromStored(row.payload, id) : undefined;
      }
      case 'Grant': {
        const row = await this.#prisma.grant.findUnique({ where: { id }, select: { payload: true, expiresAt: true } });
        return row && row.expiresAt > now ? fromStored(row.payload, id) : undefined;
      }
      case 'RefreshToken': {
        const hash = sha256hex(id);
        // Introspection and revocation look every presented token up as a refresh token too, so
        // most lookups here are misses for access tokens. A value is 256 random bits: one never
        // seen as a refresh token cannot become one later, so remembering misses is safe.
        if (this.store.refreshMisses.has(hash)) return undefined;
        // Raw SQL on the hot path: a primary-key read, without the ORM's per-query overhead.
        const { rows } = await this.store.db.sql.query<{ payload: unknown; expires_at: Date | string; consumed_at: Date | string | null }>(
          'SELECT payload, expires_at, consumed_at FROM refresh_tokens WHERE token_hash = $1',
          [hash],
        );
        const row = rows[0];
        if (!row) {
          this.store.refreshMisses.add(hash);
          return undefined;
        }
        if (new Date(row.expires_at) <= now) return undefined;
        const payload = typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload;
        return fromStored(payload, id, row.consumed_at ? epochSeconds(new Date(row.consumed_at).getTime()) : undefined);
      }
      case 'Client': {
        const row = await this.store.clients.load(id, async () => {
          const r = await this.#prisma.client.findUnique({ where: { id }, select: { payload: true } });
          return (r?.payload as Record<string, unknown> | undefined) ?? null;
        });
        return (row as AdapterPayload | null) ?? undefined;
      }
    }
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (this.model !== 'Session') return undefined;
    const row = await this.#prisma.session.findUnique({ where: { uid }, select: { id: true, payload: true, expiresAt: true } });
    // The session id is not stored; see hashRef for what stands in for it.
    return row && row.expiresAt > new Date() ? fromStored(row.payload, hashRef(row.id)) : undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(id: string): Promise<void> {
    if (this.model !== 'RefreshToken') throw new TypeError(`${this.model} cannot be consumed`);
    const tokenHash = sha256hex(id);
    // One statement: under concurrent use the row lock serialises the updates and the second one
    // re-reads consumed_at, finds it set and updates nothing.
    const { count } = await this.#prisma.refreshToken.updateMany({
      where: { tokenHash, consumedAt: null },
      data: { consumedAt: new Date() },
    });
    if (count === 1) return;
    // Lost the race (or the token is gone): treat as reuse, which revokes the whole grant
    // (OAuth 2.0 Security BCP, refresh token rotation).
    const row = await this.#prisma.refreshToken.findUnique({ where: { tokenHash }, select: { grantId: true } });
    if (row && this.hooks) await this.hooks.onReuse(row.grantId);
    throw new errors.InvalidGrant('refresh token already used');
  }

  async destroy(id: string): Promise<void> {
    switch (this.model) {
      case 'Session':
        // Expired rather than deleted: at every login the provider destroys the old id and saves
        // the same session (same uid) under a new one, and the upsert then revives this row with
        // its device details (browser, trust score) intact. A logout leaves an expired row, which
        // nothing can find any more and the purge job removes.
        await this.#prisma.session.updateMany({ where: { id: storageHash(id) }, data: { expiresAt: new Date(Date.now() - 1000) } });
        return;
      case 'Grant':
        await this.#prisma.grant.deleteMany({ where: { id } });
        return;
      case 'RefreshToken':
        await this.#prisma.refreshToken.deleteMany({ where: { tokenHash: storageHash(id) } });
        return;
      case 'Client':
        await this.#prisma.client.deleteMany({ where: { id } });
        this.store.clients.invalidate(id);
    }
  }

  /** This store's share only: refresh tokens, and for the Grant model the grant row too. */
  async revokeByGrantId(grantId: string): Promise<void> {
    if (this.model === 'Grant') await this.store.destroyGrant(grantId);
    if (this.model === 'Grant' || this.model === 'RefreshToken') await this.store.revokeRefreshTokens(grantId);
  }
}
