// Users as an operator manages them (admin API and CLI): filtered listing, creation with roles,
// updates, password changes and deletion, each together with its AccountEvent.
import type { Prisma, PrismaClient, UserStatus } from '../generated/prisma/client.ts';
import { HttpError } from '../errors.ts';
import { recordAdminEvent, type Actor } from './admin-audit.ts';
import { passwordProblem } from './password-policy.ts';
import { hashPassword } from './passwords.ts';
import { revokeUserAccess, type RevokeGrant } from './revocation.ts';

const userSelect = {
  id: true,
  email: true,
  username: true,
  emailVerified: true,
  firstName: true,
  lastName: true,
  phone: true,
  status: true,
  createdAt: true,
  updatedAt: true,
  lastLoginAt: true,
  roles: { select: { role: { select: { name: true } } } },
} satisfies Prisma.UserSelect;

type UserRow = Prisma.UserGetPayload<{ select: typeof userSelect }>;

/** What the API and CLI show of a user: never the password hash. */
export function userView(u: UserRow) {
  const { roles, ...rest } = u;
  return { ...rest, roles: roles.map((r) => r.role.name).sort() };
}

export const userNotFound = () => new HttpError(404, 'not_found', 'There is no such user.');

export interface UserFilters {
  email?: string;
  username?: string;
  status?: UserStatus;
  role?: string;
}

export async function listUsers(prisma: PrismaClient, filters: UserFilters, opts: { after?: [string, string]; limit: number }) {
  const where: Prisma.UserWhereInput = {
    ...(filters.email ? { email: { contains: filters.email.toLowerCase() } } : {}),
    ...(filters.username ? { username: { contains: filters.username.toLowerCase() } } : {}),
    ...(filters.status ? { status: filters.status } : {}),
    ...(filters.role ? { roles: { some: { role: { name: filters.role } } } } : {}),
  };
  // Keyset pagination on (createdAt, id): stable under inserts, no OFFSET scans.
  const after = opts.after && { createdAt: new Date(opts.after[0]), id: opts.after[1] };
  const rows = await prisma.user.findMany({
    where: after ? { AND: [where, { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] }] } : where,
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: opts.limit + 1,
    select: userSelect,
  });
  return rows;
}

export async function getUser(prisma: PrismaClient | Prisma.TransactionClient, id: string) {
  const u = await prisma.user.findUnique({ where: { id }, select: userSelect });
  if (!u) throw userNotFound();
  return userView(u);
}

function conflict(err: unknown): never {
  const e = err as { code?: string; meta?: unknown };
  if (e.code === 'P2002') {
    const field = JSON.stringify(e.meta ?? {}).includes('username') ? 'username' : 'email';
    throw new HttpError(409, 'conflict', `A user with this ${field} already exists.`, { field });
  }
  throw err;
}

async function checkedHash(password: string, identity: { email?: string | null; username?: string | null }) {
  const problem = passwordProblem(password, identity);
  if (problem) throw new HttpError(400, 'weak_password', problem);
  return hashPassword(password);
}

export interface CreateUserByAdmin {
  email: string;
  username?: string;
  password?: string;
  emailVerified?: boolean;
  firstName?: string;
  lastName?: string;
  phone?: string;
  roles?: string[];
}

export async function createUserByAdmin(prisma: PrismaClient, actor: Actor, input: CreateUserByAdmin, defaultRoles: string[]) {
  const passwordHash = input.password ? await checkedHash(input.password, input) : null;
  const roleNames = input.roles ?? defaultRoles;
  try {
    const id = await prisma.$transaction(async (tx) => {
      const roles = await tx.role.findMany({ where: { name: { in: roleNames } } });
      const unknown = roleNames.filter((n) => !roles.some((r) => r.name === n));
      if (unknown.length) throw new HttpError(422, 'unknown_role', `Unknown role: ${unknown.join(', ')}.`);
      const { roles: _r, password: _p, ...fields } = input;
      const user = await tx.user.create({
        data: { ...fields, passwordHash, roles: { create: roles.map((r) => ({ roleId: r.id })) } },
      });
      await recordAdminEvent(tx, actor, { userId: user.id, type: 'user_created', action: 'user.create', details: { roles: roleNames } });
      return user.id;
    });
    return getUser(prisma, id);
  } catch (err) {
    return conflict(err);
  }
}

export interface UpdateUserByAdmin {
  email?: string;
  username?: string | null;
  emailVerified?: boolean;
  firstName?: string | null;
  lastName?: string | null;
  phone?: string | null;
}

export async function updateUserByAdmin(prisma: PrismaClient, actor: Actor, id: string, input: UpdateUserByAdmin) {
  try {
    await prisma.$transaction(async (tx) => {
      const before = await tx.user.findUnique({ where: { id }, select: { email: true } });
      if (!before) throw userNotFound();
      // A new address is unverified unless the operator says otherwise in the same request.
      const emailChanged = input.email !== undefined && input.email !== before.email;
      const data = { ...input, ...(emailChanged && input.emailVerified === undefined ? { emailVerified: false } : {}) };
      await tx.user.update({ where: { id }, data });
      await recordAdminEvent(tx, actor, { userId: id, type: 'user_updated', action: 'user.update', details: { fields: Object.keys(input).sort() } });
    });
  } catch (err) {
    conflict(err);
  }
  return getUser(prisma, id);
}

export async function setPasswordByAdmin(
  prisma: PrismaClient,
  revokeGrant: RevokeGrant,
  actor: Actor,
  id: string,
  input: { password: string; revokeSessions: boolean },
) {
  const user = await prisma.user.findUnique({ where: { id }, select: { email: true, username: true } });
  if (!user) throw userNotFound();
  const passwordHash = await checkedHash(input.password, user);
  await prisma.$transaction(async (tx) => {
    await tx.user.update({ where: { id }, data: { passwordHash } });
    await recordAdminEvent(tx, actor, { userId: id, type: 'password_changed', action: 'user.password.set', details: { revokeSessions: input.revokeSessions } });
  });
  const revoked = input.revokeSessions ? await revokeUserAccess(prisma, revokeGrant, id) : { sessions: 0, grants: 0 };
  return { id, ...revoked };
}

/** Deletes a user and, by cascade, everything of theirs; their tokens in Redis are revoked first. */
export async function deleteUserByAdmin(prisma: PrismaClient, revokeGrant: RevokeGrant, actor: Actor, id: string): Promise<void> {
  const exists = await prisma.user.findUnique({ where: { id }, select: { id: true } });
  if (!exists) throw userNotFound();
  await revokeUserAccess(prisma, revokeGrant, id);
  await prisma.$transaction(async (tx) => {
    await tx.user.delete({ where: { id } });
    // Not attached to the user (the row and its events are gone): the id alone says who it was.
    await recordAdminEvent(tx, actor, { userId: null, type: 'user_deleted', action: 'user.delete', details: { userId: id } });
  });
}
