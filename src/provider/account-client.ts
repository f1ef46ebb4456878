// The built-in first-party client behind the account pages. It only ever asks for `openid`, its
// codes are never redeemed (the browser session is what the account pages use), and it needs no
// consent: the user is signing in to this server itself.
import type { ClientMetadata, KoaContextWithOIDC } from 'oidc-provider';

export const ACCOUNT_CLIENT_ID = 'account-console';

export function accountClient(issuer: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'your account',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${issuer}/account/callback`],
    post_logout_redirect_uris: [`${issuer}/account`],
    scope: 'openid',
  };
}

/** The provider's default grant lookup, plus an implicit `openid` grant for the account pages. */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const clientId = oidc.client!.clientId;
  const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(clientId);
  if (grantId) return oidc.provider.Grant.find(grantId);
  if (clientId !== ACCOUNT_CLIENT_ID || !oidc.session?.accountId) return undefined;
  const grant = new oidc.provider.Grant({ clientId, accountId: oidc.session.accountId });
  grant.addOIDCScope('openid');
  await grant.save();
  return grant;
}
