// Relying parties as an operator manages them: created with a generated secret shown once,
// updated through oidc-provider's own metadata validation, secrets rotated, deleted with their
// grants. Secrets are never returned except at creation and rotation.
import type { PrismaClient } from '../generated/prisma/client.ts';
import { HttpError } from '../errors.ts';
import { ACCESS_CONFIG_EVENT, recordAdminEvent, type Actor } from './admin-audit.ts';
import { buildClientMetadata, ClientValidationError, generateClientSecret, type ClientInput } from './clients.ts';
import { randomToken } from './crypto.ts';
import type { RevokeGrant } from './revocation.ts';

type Metadata = Record<string, unknown>;

export function clientView(row: { id: string; payload: unknown; dynamic: boolean; createdAt: Date; updatedAt: Date }) {
  const m = row.payload as Metadata;
  return {
    clientId: row.id,
    name: (m.client_name as string | undefined) ?? null,
    public: m.token_endpoint_auth_method === 'none',
    redirectUris: (m.redirect_uris as string[] | undefined) ?? [],
    postLogoutRedirectUris: (m.post_logout_redirect_uris as string[] | undefined) ?? [],
    grantTypes: (m.grant_types as string[] | undefined) ?? [],
    scope: (m.scope as string | undefined) ?? '',
    dynamic: row.dynamic,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const notFound = () => new HttpError(404, 'not_found', 'There is no such client.');

async function validated(prisma: PrismaClient, input: ClientInput): Promise<Metadata> {
  try {
    return await buildClientMetadata(prisma, input);
  } catch (err) {
    if (err instanceof ClientValidationError) throw new HttpError(400, 'invalid_client_metadata', err.message);
    throw err;
  }
}

export async function listClients(prisma: PrismaClient, opts: { after?: string; limit: number }) {
  return prisma.client.findMany({ where: opts.after ? { id: { gt: opts.after } } : {}, orderBy: { id: 'asc' }, take: opts.limit + 1 });
}

export async function getClient(prisma: PrismaClient, id: string) {
  const row = await prisma.client.findUnique({ where: { id } });
  if (!row) throw notFound();
  return clientView(row);
}

export type NewClient = Omit<ClientInput, 'id' | 'secret'> & { clientId?: string; public?: boolean };

export async function createClientByAdmin(prisma: PrismaClient, actor: Actor, input: NewClient) {
  const id = input.clientId ?? randomToken(16);
  const secret = input.public ? undefined : generateClientSecret();
  const { clientId: _c, public: _p, ...rest } = input;
  const metadata = await validated(prisma, { ...rest, id, secret });
  try {
    await prisma.$transaction(async (tx) => {
      await tx.client.create({ data: { id, payload: metadata as object, dynamic: false } });
      await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'client.create', details: { clientId: id } });
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new HttpError(409, 'conflict', `A client with id "${id}" already exists.`);
    throw err;
  }
  return { ...(await getClient(prisma, id)), ...(secret ? { clientSecret: secret } : {}) };
}

export type ClientPatch = Partial<Pick<ClientInput, 'name' | 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes' | 'scope'>>;

export async function updateClientByAdmin(prisma: PrismaClient, actor: Actor, id: string, patch: ClientPatch) {
  const row = await prisma.client.findUnique({ where: { id } });
  if (!row) throw notFound();
  const current = clientView(row);
  const m = row.payload as Metadata;
  const metadata = await validated(prisma, {
    id,
    secret: m.client_secret as string | undefined,
    name: patch.name ?? current.name ?? undefined,
    redirectUris: patch.redirectUris ?? current.redirectUris,
    postLogoutRedirectUris: patch.postLogoutRedirectUris ?? current.postLogoutRedirectUris,
    grantTypes: patch.grantTypes ?? current.grantTypes,
    scope: patch.scope ?? current.scope,
  });
  await prisma.$transaction(async (tx) => {
    await tx.client.update({ where: { id }, data: { payload: { ...m, ...metadata } as object } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'client.update', details: { clientId: id, fields: Object.keys(patch).sort() } });
  });
  return getClient(prisma, id);
}

/** A new secret replaces the old one at once (tokens already issued stay valid until they expire). */
export async function rotateClientSecret(prisma: PrismaClient, actor: Actor, id: string) {
  const row = await prisma.client.findUnique({ where: { id } });
  if (!row) throw notFound();
  const m = row.payload as Metadata;
  if (!m.client_secret) throw new HttpError(409, 'public_client', 'This is a public client; it has no secret to rotate.');
  const secret = generateClientSecret();
  await prisma.$transaction(async (tx) => {
    await tx.client.update({ where: { id }, data: { payload: { ...m, client_secret: secret } as object } });
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'client.secret.rotate', details: { clientId: id } });
  });
  return { ...(await getClient(prisma, id)), clientSecret: secret };
}

/** Deletes a client and revokes every grant (and token) users gave it. */
export async function deleteClientByAdmin(prisma: PrismaClient, revokeGrant: RevokeGrant, actor: Actor, id: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const n = await tx.client.deleteMany({ where: { id } });
    if (!n.count) throw notFound();
    await recordAdminEvent(tx, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'client.delete', details: { clientId: id } });
  });
  const grants = await prisma.grant.findMany({ where: { clientId: id }, select: { id: true } });
  for (const g of grants) await revokeGrant(g.id);
}
