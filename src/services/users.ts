// User accounts: lookup by login identifier, creation with the default role, login bookkeeping.
import { z } from 'zod';
import type { PrismaClient, User } from '../generated/prisma/client.ts';
import { hashPassword } from './passwords.ts';

export const usernameSchema = z
  .string()
  .min(3, 'must be 3–50 characters')
  .max(50, 'must be 3–50 characters')
  .regex(/^[A-Za-z0-9_]+$/, 'may contain only letters, digits and underscore');

export const emailSchema = z
  .string()
  .trim()
  .max(254, 'is too long')
  .email('is not a valid email address')
  .transform((e) => e.toLowerCase());

// NIST SP 800-63B: length, not composition. Bytes above 128 chars are refused to bound hashing cost.
export const passwordSchema = z.string().min(12, 'must be at least 12 characters').max(128, 'must be at most 128 characters');

export class UserExistsError extends Error {
  constructor(public field: 'email' | 'username') {
    super(`a user with this ${field} already exists`);
  }
}

export interface CreateUserInput {
  email: string;
  password?: string;
  /** An imported PHC/bcrypt hash, used instead of `password`. */
  passwordHash?: string;
  username?: string;
  emailVerified?: boolean;
  firstName?: string;
  lastName?: string;
  roles?: string[];
}

export async function createUser(prisma: PrismaClient, input: CreateUserInput): Promise<User> {
  const email = emailSchema.parse(input.email);
  const username = input.username === undefined ? undefined : usernameSchema.parse(input.username).toLowerCase();
  const passwordHash = input.passwordHash ?? (input.password ? await hashPassword(passwordSchema.parse(input.password)) : null);
  const roleNames = input.roles ?? ['user'];
  try {
    // One transaction: a user never exists without its roles.
    return await prisma.$transaction(async (tx) => {
      const roles = await tx.role.findMany({ where: { name: { in: roleNames } } });
      return tx.user.create({
        data: {
          email,
          username,
          passwordHash,
          emailVerified: input.emailVerified ?? false,
          firstName: input.firstName,
          lastName: input.lastName,
          roles: { create: roles.map((r) => ({ roleId: r.id })) },
        },
      });
    });
  } catch (err) {
    const e = err as { code?: string; meta?: { target?: unknown; driverAdapterError?: unknown } };
    if (e.code === 'P2002') {
      const text = JSON.stringify(e.meta ?? {});
      throw new UserExistsError(text.includes('username') ? 'username' : 'email');
    }
    throw err;
  }
}

/** Finds a user by email (when the identifier contains @) or username, case-insensitively. */
export async function findUserByLogin(prisma: PrismaClient, identifier: string): Promise<User | null> {
  const id = identifier.trim().toLowerCase();
  if (!id || id.length > 254) return null;
  return id.includes('@')
    ? prisma.user.findUnique({ where: { email: id } })
    : prisma.user.findUnique({ where: { username: id } });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findUserById(prisma: PrismaClient, id: string): Promise<User | null> {
  if (!UUID.test(id)) return null;
  return prisma.user.findUnique({ where: { id } });
}

export async function recordSuccessfulLogin(prisma: PrismaClient, userId: string, newHash?: string): Promise<void> {
  await prisma.user.update({
    where: { id: userId },
    data: { lastLoginAt: new Date(), ...(newHash ? { passwordHash: newHash } : {}) },
  });
}
