// Resource servers (APIs) that accept our JWT access tokens. Looked up on every token request for
// a resource indicator, so kept in a per-process cache that the change feed invalidates.
import { z } from 'zod';
import type { PrismaClient, ResourceServer } from '../generated/prisma/client.ts';

export const resourceIdentifierSchema = z
  .string()
  .max(255)
  .refine((v) => {
    try {
      const u = new URL(v);
      return !u.hash && (u.protocol === 'https:' || u.protocol === 'http:' || u.protocol === 'urn:');
    } catch {
      return false;
    }
  }, 'must be an absolute URI without a fragment');

export const scopeListSchema = z
  .string()
  .max(1024)
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$|^$/, 'must be space-separated scope tokens');

export async function createResourceServer(
  prisma: PrismaClient,
  input: { identifier: string; scope: string; accessTokenTtl?: number },
): Promise<ResourceServer> {
  return prisma.resourceServer.create({
    data: {
      identifier: resourceIdentifierSchema.parse(input.identifier),
      scope: scopeListSchema.parse(input.scope.trim().replace(/\s+/g, ' ')),
      accessTokenTtl: input.accessTokenTtl,
    },
  });
}

export class ResourceServerCache {
  #cache = new Map<string, ResourceServer | null>();
  constructor(private prisma: PrismaClient) {}

  async get(identifier: string): Promise<ResourceServer | null> {
    if (this.#cache.has(identifier)) return this.#cache.get(identifier) ?? null;
    const row = await this.prisma.resourceServer.findUnique({ where: { identifier } });
    // Unknown identifiers are not cached: a resource created a moment later must work at once,
    // and caching misses would let anyone fill the map with junk.
    if (row) this.#cache.set(identifier, row);
    return row;
  }

  invalidate(): void {
    this.#cache.clear();
  }
}

/** Every scope any resource server defines. */
export async function listResourceScopes(prisma: PrismaClient): Promise<string[]> {
  const rows = await prisma.resourceServer.findMany({ select: { scope: true } });
  return [...new Set(rows.flatMap((r) => r.scope.split(' ').filter(Boolean)))];
}
