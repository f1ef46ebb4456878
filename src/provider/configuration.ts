// oidc-provider configuration. Every option we set is here, with why we set it.
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { ResourceServerCache } from '../services/resources.ts';
import { renderView } from '../views.ts';
import { htmlSecurityHeaders } from '../routes/security-headers.ts';
import { accountClient, loadExistingGrant } from './account-client.ts';
import { ACR_VALUES, loginPolicy } from './acr.ts';

export interface ProviderDeps {
  config: Config;
  logger: Logger;
  Adapter: NonNullable<Configuration['adapter']>;
  findAccount: NonNullable<Configuration['findAccount']>;
  jwks: JWK[];
  resources: ResourceServerCache;
  /** Scopes of the registered resource servers; clients may be registered for them. */
  resourceScopes: string[];
  /** Roles and permissions of a user's JWT access token for a resource server (RBAC). */
  accessTokenClaims?: (accountId: string, grantedScope: string) => Promise<Record<string, unknown>>;
}

export const OIDC_SCOPES = ['openid', 'offline_access', 'email', 'profile', 'phone', 'address', 'roles'];

// OIDC standard claims per scope (OIDC Core 5.4); `sub` is always released.
const CLAIMS = {
  // How the user authenticated travels with every ID token, so a relying party can check it.
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  // Not an OIDC standard scope: the user's role names, in the ID token and userinfo.
  roles: ['roles'],
};

function page(ctx: KoaContextWithOIDC, view: string, data: Record<string, unknown>, productName: string) {
  htmlSecurityHeaders(ctx);
  ctx.type = 'html';
  ctx.body = renderView(view, { productName, ...data });
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config } = deps;
  const ttl = config.ttl;
  const configuration: Configuration = {
    adapter: deps.Adapter,
    findAccount: deps.findAccount,
    // Relying parties live in the database (CLI, admin API, dynamic registration) so that a client
    // created by the CLI is usable by every running instance at once. The one static client is the
    // built-in account pages' own (see account-client.ts).
    clients: [accountClient(config.issuer)],
    loadExistingGrant,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // Our primary key algorithm; a client may still ask for RS256 (we keep a key of each).
      id_token_signed_response_alg: config.signingAlg,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    claims: CLAIMS,
    // Resource server scopes are listed too, so that a client's registered `scope` limits what it
    // may request for an API (client_credentials included); the provider is rebuilt when they change.
    scopes: [...new Set([...OIDC_SCOPES, ...deps.resourceScopes])],
    cookies: {
      keys: config.cookieKeys,
      // Signed cookies; the session cookie is httpOnly and SameSite=Lax (provider default).
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: config.issuer.startsWith('https:') },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: config.issuer.startsWith('https:') },
    },
    jwks: { keys: deps.jwks as never },
    features: {
      // Our own hosted pages replace the development-only interactions.
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          page(ctx, 'logout', { form, clientName: ctx.oidc.client?.clientName }, config.productName);
        },
        async postLogoutSuccessSource(ctx) {
          page(ctx, 'logged-out', { clientName: ctx.oidc.client?.clientName }, config.productName);
        },
      },
      resourceIndicators: {
        enabled: true,
        // With one resource requested at authorization, the code exchange gets it without repeating it.
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resourceIndicator) {
          const rs = await deps.resources.get(resourceIndicator);
          if (!rs) throw new errors.InvalidTarget('unknown resource server');
          return {
            scope: rs.scope,
            audience: rs.identifier,
            accessTokenTTL: rs.accessTokenTtl ?? ttl.accessToken,
            // RFC 9068 JWT access tokens, verifiable by the API against our /jwks.
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: config.signingAlg } },
          };
        },
      },
    },
    // RBAC in JWT access tokens: a user's roles and the permissions they hold among the scopes
    // granted for the resource, so a resource server can check `write:post` without calling us.
    // Opaque tokens (no resource server) and client_credentials tokens (no user) get nothing.
    async extraTokenClaims(_ctx, token) {
      const accountId = 'accountId' in token ? token.accountId : undefined;
      if (!deps.accessTokenClaims || !accountId || !token.resourceServer) return undefined;
      return deps.accessTokenClaims(accountId, token.scope ?? '');
    },
    // PKCE S256 only (the provider default); required for public clients, as OAuth 2.1 asks.
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    // Rotation on every use; the provider revokes the whole grant when a used token comes back.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.accessToken,
      AuthorizationCode: ttl.authorizationCode,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.clientCredentials,
      IdToken: ttl.idToken,
      RefreshToken: ttl.refreshToken,
      Session: ttl.session,
      Grant: ttl.grant,
      Interaction: ttl.interaction,
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: loginPolicy(),
    },
    // Advertised in discovery; `acr_values=urn:idserver:acr:mfa` makes a second factor mandatory.
    acrValues: ACR_VALUES,
    async renderError(ctx, out) {
      const status = ctx.status >= 400 ? ctx.status : 400;
      page(
        ctx,
        'error',
        {
          heading: status >= 500 ? 'Something went wrong' : 'This request could not be completed',
          message: out.error_description ?? 'The request was invalid.',
          code: out.error,
        },
        config.productName,
      );
      ctx.status = status;
    },
    // Browser clients may call token/userinfo only from the origins of their own redirect URIs.
    clientBasedCORS(_ctx, origin, client) {
      return (client.redirectUris ?? []).some((uri) => {
        try {
          return new URL(uri).origin === origin;
        } catch {
          return false;
        }
      });
    },
    // Scope claims (email, profile) go into the ID token as well as userinfo: most relying parties
    // read them from the ID token and skip the userinfo call.
    conformIdTokenClaims: false,
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  return provider;
}
