// Who is signed in on the account pages: the provider's own browser session. Without one, the
// browser is sent through a normal authorization request of the built-in first-party client
// ACCOUNT_CLIENT_ID, so the account pages use the same sign-in (and its protections) as every app.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { User } from '../../generated/prisma/client.ts';
import type { InteractionDeps } from '../../interactions/context.ts';
import { ACCOUNT_CLIENT_ID } from '../../provider/account-client.ts';
import { randomToken } from '../../services/crypto.ts';
import { findUserById } from '../../services/users.ts';

export async function signedInUser(ctx: Context, deps: InteractionDeps): Promise<{ user: User; sessionId: string } | undefined> {
  const session = await deps.getProvider().Session.get(ctx as never);
  const user = session.accountId ? await findUserById(deps.prisma, session.accountId) : null;
  if (user && user.status === 'active') return { user, sessionId: session.jti };
  if (ctx.method !== 'GET') {
    ctx.status = 303;
  }
  ctx.redirect(signInUrl(deps));
  return undefined;
}

/** An authorization request whose only purpose is to establish the session; the code is never redeemed. */
export function signInUrl(deps: InteractionDeps): string {
  const verifier = randomToken(32);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const q = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${deps.config.issuer}/account/callback`,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomToken(16),
  });
  return `/auth?${q.toString()}`;
}
