// One page of each admin listing, with its signed cursor: shared by the admin API and the CLI.
import type { PrismaClient } from '../generated/prisma/client.ts';
import { clientView, listClients } from './client-admin.ts';
import { readCursor, signCursor, toPage } from './cursor.ts';
import { listPermissions, permissionView } from './permissions.ts';
import { listResources, resourceView } from './resource-admin.ts';
import { listRoles, roleView } from './roles.ts';
import { listUsers, userView, type UserFilters } from './user-admin.ts';
import { listEvents } from './user-sessions.ts';

export interface PageRequest {
  limit: number;
  cursor?: string;
}

type Pair = [string, string];

export async function usersPage(prisma: PrismaClient, key: Buffer, filters: UserFilters, page: PageRequest) {
  const after = page.cursor ? (readCursor(key, 'users', { ...filters }, page.cursor, 2) as Pair) : undefined;
  const rows = await listUsers(prisma, filters, { after, limit: page.limit });
  return toPage(rows, page.limit, userView, (u) => signCursor(key, 'users', { ...filters }, [u.createdAt.toISOString(), u.id]));
}

export async function eventsPage(prisma: PrismaClient, key: Buffer, userId: string, page: PageRequest) {
  const filters = { user: userId };
  const before = page.cursor ? (readCursor(key, 'events', filters, page.cursor, 2) as Pair) : undefined;
  const rows = await listEvents(prisma, userId, { before, limit: page.limit });
  return toPage(
    rows,
    page.limit,
    (e) => ({ ...e, metadata: e.metadata as Record<string, unknown> }),
    (e) => signCursor(key, 'events', filters, [e.createdAt.toISOString(), e.id]),
  );
}

export async function rolesPage(prisma: PrismaClient, key: Buffer, page: PageRequest) {
  const after = page.cursor ? readCursor(key, 'roles', {}, page.cursor, 1)[0] : undefined;
  const rows = await listRoles(prisma, { after, limit: page.limit });
  return toPage(rows, page.limit, roleView, (r) => signCursor(key, 'roles', {}, [r.name]));
}

export async function permissionsPage(prisma: PrismaClient, key: Buffer, page: PageRequest) {
  const after = page.cursor ? readCursor(key, 'permissions', {}, page.cursor, 1)[0] : undefined;
  const rows = await listPermissions(prisma, { after, limit: page.limit });
  return toPage(rows, page.limit, permissionView, (p) => signCursor(key, 'permissions', {}, [p.name]));
}

export async function clientsPage(prisma: PrismaClient, key: Buffer, page: PageRequest) {
  const after = page.cursor ? readCursor(key, 'clients', {}, page.cursor, 1)[0] : undefined;
  const rows = await listClients(prisma, { after, limit: page.limit });
  return toPage(rows, page.limit, clientView, (c) => signCursor(key, 'clients', {}, [c.id]));
}

export async function resourcesPage(prisma: PrismaClient, key: Buffer, page: PageRequest) {
  const after = page.cursor ? (readCursor(key, 'resources', {}, page.cursor, 2) as Pair) : undefined;
  const rows = await listResources(prisma, { after, limit: page.limit });
  return toPage(rows, page.limit, resourceView, (r) => signCursor(key, 'resources', {}, [r.createdAt.toISOString(), r.id]));
}
