// Resource servers (APIs) as an operator manages them. The admin API's own entry is managed by the
// server itself (see admin-resource.ts) and refused here, so nobody locks the operators out.
import type { PrismaClient, ResourceServer } from '../generated/prisma/client.ts';
import { HttpError } from '../errors.ts';
import { ACCESS_CONFIG_EVENT, recordAdminEvent, type Actor } from './admin-audit.ts';

export function resourceView(r: ResourceServer) {
  return { id: r.id, identifier: r.identifier, scope: r.scope, accessTokenTtl: r.accessTokenTtl, createdAt: r.createdAt };
}

const notFound = () => new HttpError(404, 'not_found', 'There is no such resource server.');
const managed = () => new HttpError(409, 'resource_managed', "The admin API's own resource server is managed by the server and cannot be changed.");

export async function listResources(prisma: PrismaClient, opts: { after?: [string, string]; limit: number }) {
  const a = opts.after && { createdAt: new Date(opts.after[0]), id: opts.after[1] };
  return prisma.resourceServer.findMany({
    where: a ? { OR: [{ createdAt: { gt: a.createdAt } }, { createdAt: a.createdAt, id: { gt: a.id } }] } : {},
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: opts.limit + 1,
  });
}

export async function getResource(prisma: PrismaClient, id: string) {
  const r = await prisma.resourceServer.findUnique({ where: { id } });
  if (!r) throw notFound();
  return resourceView(r);
}

export async function createResource(prisma: PrismaClient, actor: Actor, input: { identifier: string; scope: string; accessTokenTtl?: number }) {
  try {
    const r = await prisma.$transaction(async (tx) => {
      const row = await tx.resourceServer.create({ data: input });
      await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'resource.create', details: { resourceId: row.id } });
      return row;
    });
    return resourceView(r);
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new HttpError(409, 'conflict', `A resource server "${input.identifier}" already exists.`);
    throw err;
  }
}

export async function updateResource(
  prisma: PrismaClient,
  actor: Actor,
  adminAudience: string,
  id: string,
  patch: { scope?: string; accessTokenTtl?: number | null },
) {
  const r = await prisma.$transaction(async (tx) => {
    const row = await tx.resourceServer.findUnique({ where: { id } });
    if (!row) throw notFound();
    if (row.identifier === adminAudience) throw managed();
    const updated = await tx.resourceServer.update({ where: { id }, data: patch });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'resource.update', details: { resourceId: id, fields: Object.keys(patch).sort() } });
    return updated;
  });
  return resourceView(r);
}

export async function deleteResource(prisma: PrismaClient, actor: Actor, adminAudience: string, id: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const row = await tx.resourceServer.findUnique({ where: { id } });
    if (!row) throw notFound();
    if (row.identifier === adminAudience) throw managed();
    await tx.resourceServer.delete({ where: { id } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'resource.delete', details: { resourceId: id } });
  });
}
