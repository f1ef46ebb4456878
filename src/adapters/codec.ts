// What every store agrees on: how a token value becomes a storage key, how a payload is stored
// without it, how long things live, and which error a lost consume race raises.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { errors, type AdapterPayload } from 'oidc-provider';

/** Models whose rows are the long-lived state in the database; the rest is short-lived. */
export const LONG_LIVED = new Set(['Session', 'Grant', 'RefreshToken', 'Client']);

/** Artifacts indexed by grantId, so that revoking a grant reaches them. */
export const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

// oidc-provider passes a ttl for every model it persists. The fallback only keeps a ttl function
// that returns nothing from writing a row or key that never expires; 14 days is the provider's
// own default for Session and Grant, the longest-lived artifacts.
const FALLBACK_TTL_SECONDS = 14 * 24 * 3600;

export function sha256hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

// findByUid cannot give back the session id, which is stored only as a hash. It returns this
// reference instead so that the instance it yields can still be saved or destroyed. `:` is not in
// the nanoid alphabet, so a reference never equals a real id, and find()/consume() never honour it:
// knowing a stored hash (e.g. from a backup) must not make it a usable bearer value.
const HASH_REF = 'sha256:';

export function hashRef(hash: string): string {
  return HASH_REF + hash;
}

/** The storage hash for upsert/destroy, which accept a findByUid reference as well as a value. */
export function storageHash(id: string): string {
  return id.startsWith(HASH_REF) ? id.slice(HASH_REF.length) : sha256hex(id);
}

/** Seconds until expiry: the provider's expiresIn, else the payload's exp, else the fallback. */
export function ttlSeconds(expiresIn: number | undefined, payload: AdapterPayload): number {
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn)) return Math.ceil(expiresIn);
  if (typeof payload.exp === 'number') return payload.exp - Math.floor(Date.now() / 1000);
  return FALLBACK_TTL_SECONDS;
}

/**
 * The payload as stored: without `jti` (the token value itself) and without `consumed`, which
 * every store keeps apart so that consume() can be an atomic first-wins write.
 */
export function toStored(payload: AdapterPayload): Record<string, unknown> {
  const { jti: _jti, consumed: _consumed, ...rest } = payload;
  return rest;
}

export function fromStored(stored: unknown, jti: string, consumed?: number): AdapterPayload {
  const payload = { ...(stored as AdapterPayload), jti };
  if (consumed !== undefined) payload.consumed = consumed;
  return payload;
}

export function epochSeconds(ms = Date.now()): number {
  return Math.floor(ms / 1000);
}

/** The error a second use of a one-time artifact raises, as the provider itself words it. */
export function alreadyUsed(model: string): Error {
  // A pushed request is spent at the authorization endpoint, where the provider answers
  // invalid_request_uri for reuse; everything else is spent at the token endpoint.
  if (model === 'PushedAuthorizationRequest') {
    return new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
  }
  const label = model.replace(/[A-Z]/g, (c, i: number) => (i ? ' ' : '') + c.toLowerCase());
  return new errors.InvalidGrant(`${label} already used`);
}

// A device code is looked up by its user code (findByUserCode), and the provider then saves that
// instance and later finds it by value again, so the value must be recoverable from the user code.
// It is kept sealed under a key derived from the user code rather than in clear. This keeps the
// value out of plain sight (dumps, MONITOR, key scans); it is not a defence against an attacker
// holding a dump, since user codes are short and the stored payload names its user code.
function userCodeKey(userCode: string): Buffer {
  return Buffer.from(hkdfSync('sha256', userCode, 'idserver', 'device code by user code', 32));
}

export function sealId(userCode: string, id: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', userCodeKey(userCode), iv);
  const body = Buffer.concat([cipher.update(id, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

export function openId(userCode: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', userCodeKey(userCode), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Hooks a store calls into the layer that knows about the other store. */
export interface StoreHooks {
  /** A consume race was lost: revoke everything issued under the grant, in every store. */
  onReuse(grantId: string): Promise<void>;
}
