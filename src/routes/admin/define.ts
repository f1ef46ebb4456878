// The admin API's route table: each route declares its method, path, permission and zod schemas
// once; the router validates with them and the OpenAPI document is generated from them, so the
// two never drift apart.
import type { z } from 'zod';
import type { Config } from '../../config.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import type { Actor } from '../../services/admin-audit.ts';
import type { AdminPermission } from '../../services/admin-resource.ts';
import type { RevokeGrant } from '../../services/revocation.ts';

export interface AdminDeps {
  config: Config;
  prisma: PrismaClient;
  logger: Logger;
  revokeGrant: RevokeGrant;
  /** Upstream provider ids that FEDERATION_PROVIDERS owns (not editable through the API). */
  federationEnvIds?: string[];
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

type Schema = z.ZodType;

export interface RouteDef<P extends Schema, Q extends Schema, B extends Schema> {
  method: Method;
  /** OpenAPI-style path below /admin/v1, e.g. `/users/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  permission: AdminPermission;
  params?: P;
  query?: Q;
  body?: B;
  /** 201 for creations, 204 (no body) for deletions; 200 otherwise. */
  status?: 200 | 201 | 204;
  /** Also an allowlist: what the handler returns is parsed with it, so no extra field leaks. */
  response?: Schema;
  handler(input: { params: z.output<P>; query: z.output<Q>; body: z.output<B>; actor: Actor }, deps: AdminDeps): Promise<unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any>;

export function route<P extends Schema = z.ZodNever, Q extends Schema = z.ZodNever, B extends Schema = z.ZodNever>(
  def: RouteDef<P, Q, B>,
): AnyRoute {
  return def as AnyRoute;
}
