// The OpenAPI 3.1 document of the admin API, generated from the route table and its zod schemas
// (OpenAPI 3.1 schemas are JSON Schema 2020-12, which z.toJSONSchema emits).
import { z } from 'zod';
import { ADMIN_PERMISSIONS } from '../../services/admin-resource.ts';
import type { AnyRoute } from './define.ts';

type JsonSchema = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

function parametersOf(s: z.ZodType | undefined, where: 'path' | 'query') {
  if (!s) return [];
  const json = schemaOf(s, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return {
      name,
      in: where,
      required: where === 'path' || ((json.required ?? []).includes(name) && !('default' in schema)),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

const problem = { $ref: '#/components/responses/Problem' };

export function buildOpenApi(routes: AnyRoute[], opts: { serverUrl: string; audience: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const status = String(r.status ?? 200);
    const op = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      security: [{ bearer: [r.permission] }],
      'x-required-permission': r.permission,
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } } : {}),
      responses: {
        [status]:
          status === '204' || !r.response
            ? { description: 'Done' }
            : { description: 'OK', content: { 'application/json': { schema: schemaOf(r.response, 'output') } } },
        400: problem,
        401: problem,
        403: problem,
        ...(r.params ? { 404: problem } : {}),
        ...(r.method !== 'get' ? { 409: problem } : {}),
      },
    };
    (paths[r.path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'idserver admin API',
      version: '1',
      description:
        `Bearer JWT access tokens from this server for the resource \`${opts.audience}\` (RFC 8707 resource indicator). ` +
        'A user token is authorized by its `permissions` claim, a client_credentials token by its `scope`. ' +
        'Errors are application/problem+json (RFC 9457).',
    },
    servers: [{ url: opts.serverUrl }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `Scopes/permissions: ${ADMIN_PERMISSIONS.join(', ')}` },
      },
      responses: {
        Problem: {
          description: 'An error (RFC 9457)',
          content: {
            'application/problem+json': {
              schema: {
                type: 'object',
                properties: {
                  type: { type: 'string' },
                  title: { type: 'string' },
                  status: { type: 'integer' },
                  detail: { type: 'string' },
                  code: { type: 'string' },
                  errors: { type: 'array', items: { type: 'object', properties: { in: { type: 'string' }, path: { type: 'string' }, message: { type: 'string' } } } },
                },
                required: ['type', 'title', 'status'],
              },
            },
          },
        },
      },
    },
  };
}
