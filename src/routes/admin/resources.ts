// /resource-servers (APIs that accept our JWT access tokens) and /keys (signing keys).
import { z } from 'zod';
import { listSigningKeys } from '../../provider/keys.ts';
import { resourcesPage } from '../../services/pages.ts';
import { createResource, deleteResource, getResource, updateResource } from '../../services/resource-admin.ts';
import { resourceIdentifierSchema, scopeListSchema } from '../../services/resources.ts';
import { rotateKeys } from '../../services/signing-key-admin.ts';
import { route } from './define.ts';
import { dateTime, idParams, pageOf, pageQuery, resourceOut } from './schemas.ts';

const tag = 'resource-servers';
const ttl = z.number().int().min(1).max(86_400);
const normalizedScope = scopeListSchema.transform((s) => s.trim().replace(/\s+/g, ' '));

const keyOut = z.object({ kid: z.string(), alg: z.string(), status: z.string(), createdAt: dateTime, retireAt: dateTime.nullable() });

export const resourceRoutes = [
  route({
    method: 'get',
    path: '/resource-servers',
    operationId: 'listResourceServers',
    summary: 'List resource servers, oldest first',
    tag,
    permission: 'admin:resources:read',
    query: z.object(pageQuery).strict(),
    response: pageOf(resourceOut),
    handler: ({ query }, d) => resourcesPage(d.prisma, d.config.hmacKey, query),
  }),
  route({
    method: 'post',
    path: '/resource-servers',
    operationId: 'createResourceServer',
    summary: 'Register a resource server; tokens requested with resource=<identifier> are JWTs (RFC 9068)',
    tag,
    permission: 'admin:resources:write',
    body: z.object({ identifier: resourceIdentifierSchema, scope: normalizedScope.default(''), accessTokenTtl: ttl.optional() }).strict(),
    status: 201,
    response: resourceOut,
    handler: ({ body, actor }, d) => createResource(d.prisma, actor, body),
  }),
  route({
    method: 'get',
    path: '/resource-servers/{id}',
    operationId: 'getResourceServer',
    summary: 'Get a resource server',
    tag,
    permission: 'admin:resources:read',
    params: idParams,
    response: resourceOut,
    handler: ({ params }, d) => getResource(d.prisma, params.id),
  }),
  route({
    method: 'patch',
    path: '/resource-servers/{id}',
    operationId: 'updateResourceServer',
    summary: "Change a resource server's scopes or token lifetime",
    tag,
    permission: 'admin:resources:write',
    params: idParams,
    body: z
      .object({ scope: normalizedScope.optional(), accessTokenTtl: ttl.nullable().optional() })
      .strict()
      .refine((b) => Object.keys(b).length > 0, 'at least one field is required'),
    response: resourceOut,
    handler: ({ params, body, actor }, d) => updateResource(d.prisma, actor, d.config.admin.audience, params.id, body),
  }),
  route({
    method: 'delete',
    path: '/resource-servers/{id}',
    operationId: 'deleteResourceServer',
    summary: 'Delete a resource server',
    tag,
    permission: 'admin:resources:write',
    params: idParams,
    status: 204,
    handler: ({ params, actor }, d) => deleteResource(d.prisma, actor, d.config.admin.audience, params.id),
  }),
  route({
    method: 'get',
    path: '/keys',
    operationId: 'listSigningKeys',
    summary: 'List signing keys (public data only)',
    tag: 'keys',
    permission: 'admin:keys:read',
    response: z.object({ items: z.array(keyOut) }),
    handler: async (_in, d) => ({ items: await listSigningKeys(d.prisma) }),
  }),
  route({
    method: 'post',
    path: '/keys/rotate',
    operationId: 'rotateSigningKeys',
    summary: 'Create new signing keys; the old ones keep verifying until their tokens have expired',
    tag: 'keys',
    permission: 'admin:keys:write',
    response: z.object({ created: z.array(z.string()), retired: z.array(z.string()), retireAt: dateTime }),
    handler: ({ actor }, d) => rotateKeys(d.prisma, d.config, actor),
  }),
];
