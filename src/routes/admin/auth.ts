// Bearer authentication of the admin API: RFC 9068 JWT access tokens issued by this server for the
// admin API's own resource identifier, verified locally against our signing keys. A user's token
// is authorized by its `permissions` claim (the user's permissions intersected with the scopes
// granted), a client_credentials token by its `scope`. Missing or bad token: 401; missing
// permission: 403 (RFC 6750 3.1).
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Context } from 'koa';
import type { ChangeFeed } from '../../db/change-feed.ts';
import { HttpError } from '../../errors.ts';
import { loadSigningKeys } from '../../provider/keys.ts';
import type { Actor } from '../../services/admin-audit.ts';
import type { AdminPermission } from '../../services/admin-resource.ts';
import { findUserById } from '../../services/users.ts';
import type { AdminDeps } from './define.ts';

export interface Caller {
  actor: Actor;
  permissions: Set<string>;
}

const PRIVATE_PARTS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

function unauthorized(ctx: Context, description?: string): HttpError {
  ctx.set('WWW-Authenticate', description ? `Bearer realm="admin", error="invalid_token", error_description="${description}"` : 'Bearer realm="admin"');
  return new HttpError(401, description ? 'invalid_token' : 'unauthorized', description ?? 'A bearer access token for the admin API is required.');
}

export function createAuthenticator(deps: AdminDeps, feed?: ChangeFeed) {
  const { config, prisma } = deps;
  let keySet: Promise<ReturnType<typeof createLocalJWKSet>> | undefined;
  let loadedAt = 0;
  const load = () => {
    loadedAt = Date.now();
    keySet = loadSigningKeys(prisma, config.encryptionKey, config.signingAlg, { create: false }).then((keys) =>
      createLocalJWKSet({ keys: keys.map((k) => Object.fromEntries(Object.entries(k).filter(([n]) => !PRIVATE_PARTS.includes(n))) as JWK) }),
    );
    keySet.catch(() => (keySet = undefined));
    return keySet;
  };
  feed?.on('signing_keys', () => (keySet = undefined));

  async function verify(token: string): Promise<JWTPayload> {
    const options = { issuer: config.issuer, audience: config.admin.audience, typ: 'at+jwt', algorithms: ['ES256', 'RS256'], requiredClaims: ['exp', 'iat', 'sub', 'client_id'] };
    try {
      return (await jwtVerify(token, await (keySet ?? load()), options)).payload;
    } catch (err) {
      // A key rotated on another node a moment ago, before the change feed told us: reload once.
      if (err instanceof joseErrors.JWKSNoMatchingKey && Date.now() - loadedAt > 1000) return (await jwtVerify(token, await load(), options)).payload;
      throw err;
    }
  }

  return async function authenticate(ctx: Context, required: AdminPermission): Promise<Caller> {
    const header = ctx.get('Authorization');
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!m) throw unauthorized(ctx, header ? 'malformed Authorization header' : undefined);
    let payload: JWTPayload;
    try {
      payload = await verify(m[1]);
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw unauthorized(ctx, err instanceof joseErrors.JWTExpired ? 'the token has expired' : 'the token is not valid for this API');
      throw err;
    }
    let caller: Caller;
    if (Array.isArray(payload.permissions)) {
      // A user's token: refused at once when the user was suspended, disabled or deleted since.
      const user = await findUserById(prisma, String(payload.sub));
      if (!user || user.status !== 'active') throw unauthorized(ctx, 'the user of this token is no longer active');
      caller = { actor: { type: 'user', id: user.id }, permissions: new Set(payload.permissions.map(String)) };
    } else {
      const clientId = String(payload.client_id);
      const client = await prisma.client.findUnique({ where: { id: clientId }, select: { id: true } });
      if (!client) throw unauthorized(ctx, 'the client of this token no longer exists');
      caller = { actor: { type: 'client', id: clientId }, permissions: new Set(String(payload.scope ?? '').split(' ').filter(Boolean)) };
    }
    if (!caller.permissions.has(required)) {
      ctx.set('WWW-Authenticate', `Bearer realm="admin", error="insufficient_scope", scope="${required}"`);
      throw new HttpError(403, 'insufficient_permission', `This token does not carry the permission ${required}.`, { permission: required });
    }
    return caller;
  };
}
