// /federation-providers: upstream sign-in providers managed at runtime (next to FEDERATION_PROVIDERS).
// The client secret is write-only: no answer ever contains it.
import { z } from 'zod';
import { upstreamFields } from '../../config.ts';
import { ACCESS_CONFIG_EVENT, recordAdminEvent } from '../../services/admin-audit.ts';
import { deleteProvider, FederationProviderError, listStoredProviders, saveProvider } from '../../services/federation/registry.ts';
import { HttpError } from '../../errors.ts';
import { route } from './define.ts';

const tag = 'federation-providers';
const providerOut = z.object({
  id: z.string(),
  type: z.enum(['oidc', 'google', 'github']),
  name: z.string().optional(),
  issuer: z.string().optional(),
  discoveryUrl: z.string().optional(),
  clientId: z.string(),
  scopes: z.array(z.string()).optional(),
  enabled: z.boolean(),
  authorizationUrl: z.string().optional(),
  tokenUrl: z.string().optional(),
  apiUrl: z.string().optional(),
  source: z.enum(['environment', 'database']),
});
const idParams = z.object({ id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/) }).strict();

function asHttp(err: unknown): never {
  if (err instanceof FederationProviderError) throw new HttpError(err.status, err.status === 404 ? 'not_found' : err.status === 409 ? 'conflict' : 'validation_failed', err.message);
  throw err;
}

export const federationRoutes = [
  route({
    method: 'get',
    path: '/federation-providers',
    operationId: 'listFederationProviders',
    summary: 'List upstream sign-in providers (from FEDERATION_PROVIDERS and added here); secrets are never returned',
    tag,
    permission: 'admin:federation:read',
    response: z.object({ items: z.array(providerOut) }),
    handler: async (_input, d) => ({ items: await listStoredProviders(d.prisma, d.config) }),
  }),
  route({
    method: 'put',
    path: '/federation-providers/{id}',
    operationId: 'putFederationProvider',
    summary: 'Add or replace an upstream provider (every instance picks it up at once)',
    tag,
    permission: 'admin:federation:write',
    params: idParams,
    body: upstreamFields.omit({ id: true }).strict(),
    response: providerOut,
    handler: async ({ params, body, actor }, d) => {
      const saved = await saveProvider(d.prisma, d.config, d.federationEnvIds ?? [], { ...body, id: params.id }).catch(asHttp);
      await recordAdminEvent(d.prisma, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'federation.provider.put', details: { provider: params.id } });
      return saved;
    },
  }),
  route({
    method: 'delete',
    path: '/federation-providers/{id}',
    operationId: 'deleteFederationProvider',
    summary: 'Remove an upstream provider added here; existing connections stay but cannot be used',
    tag,
    permission: 'admin:federation:write',
    params: idParams,
    status: 204,
    handler: async ({ params, actor }, d) => {
      await deleteProvider(d.prisma, d.federationEnvIds ?? [], params.id).catch(asHttp);
      await recordAdminEvent(d.prisma, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'federation.provider.delete', details: { provider: params.id } });
      return undefined;
    },
  }),
];
