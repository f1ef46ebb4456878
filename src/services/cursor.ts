// Opaque pagination cursors: the position of the last row returned, bound to the list and the
// filters it was made for, with an expiry, and signed with the server's HMAC key. A cursor that was
// edited, made for another query, or is older than CURSOR_TTL is refused (400), so a client can
// never steer the query through it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HttpError } from '../errors.ts';

const CURSOR_TTL_SECONDS = 3600;

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(`cursor.v1.${body}`).digest();
}

function bindingOf(list: string, filters: Record<string, unknown>): string {
  const sorted = Object.keys(filters)
    .sort()
    .filter((k) => filters[k] !== undefined)
    .map((k) => [k, filters[k]]);
  return createHash('sha256').update(JSON.stringify([list, sorted])).digest('base64url').slice(0, 16);
}

export function signCursor(key: Buffer, list: string, filters: Record<string, unknown>, position: string[]): string {
  const body = Buffer.from(
    JSON.stringify({ b: bindingOf(list, filters), p: position, e: Math.floor(Date.now() / 1000) + CURSOR_TTL_SECONDS }),
  ).toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

const invalid = (why: string) => new HttpError(400, 'invalid_cursor', `The pagination cursor is ${why}; start again from the first page.`);

/** The position a cursor carries (`arity` values); throws 400 for a forged, foreign or stale one. */
export function readCursor(key: Buffer, list: string, filters: Record<string, unknown>, cursor: string, arity: number): string[] {
  const [body, sig, extra] = cursor.split('.');
  if (!body || !sig || extra !== undefined) throw invalid('malformed');
  const given = Buffer.from(sig, 'base64url');
  const expected = mac(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('not valid');
  let parsed: { b?: unknown; p?: unknown; e?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw invalid('malformed');
  }
  if (typeof parsed.e !== 'number' || parsed.e < Date.now() / 1000) throw invalid('expired');
  if (parsed.b !== bindingOf(list, filters)) throw invalid('for a different query');
  if (!Array.isArray(parsed.p) || parsed.p.length !== arity || !parsed.p.every((x) => typeof x === 'string')) throw invalid('malformed');
  return parsed.p as string[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Rows were fetched with `take: limit + 1`: the extra row only says whether there is a next page. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
  next: (last: R) => string,
): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(map), nextCursor: more ? next(items[items.length - 1]) : null };
}
