// Schemas shared by the admin routes. Request objects are strict (unknown fields are refused) and
// every string has a maximum length; responses list exactly what is shown.
import { z } from 'zod';
import { PERMISSION_NAME, ROLE_NAME } from '../../services/rbac.ts';

export const dateTime = z.preprocess((v) => (v instanceof Date ? v.toISOString() : v), z.iso.datetime());

export const roleName = z.string().max(64).regex(ROLE_NAME, 'must be 1–64 lowercase letters, digits, _ or -, starting with a letter or digit');
export const permissionName = z
  .string()
  .max(128)
  .regex(PERMISSION_NAME, 'must look like read:user or write:post (letters, digits, _ . - separated by :)');
export const description = z.string().trim().min(1).max(255);

export const idParams = z.object({ id: z.uuid() }).strict();
export const nameParams = z.object({ name: roleName }).strict();

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(1024).optional(),
};

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const userOut = z.object({
  id: z.uuid(),
  email: z.string(),
  username: z.string().nullable(),
  emailVerified: z.boolean(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  phone: z.string().nullable(),
  status: z.enum(['active', 'suspended', 'disabled']),
  roles: z.array(z.string()),
  createdAt: dateTime,
  updatedAt: dateTime,
  lastLoginAt: dateTime.nullable(),
});

export const roleOut = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  permissions: z.array(z.string()),
  userCount: z.number().int(),
  createdAt: dateTime,
});

export const permissionOut = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  roles: z.array(z.string()),
  createdAt: dateTime,
});

export const clientOut = z.object({
  clientId: z.string(),
  name: z.string().nullable(),
  public: z.boolean(),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  grantTypes: z.array(z.string()),
  scope: z.string(),
  dynamic: z.boolean(),
  createdAt: dateTime,
  updatedAt: dateTime,
});

export const clientWithSecretOut = clientOut.extend({
  clientSecret: z.string().optional().describe('Shown once, at creation or rotation; store it now.'),
});

export const resourceOut = z.object({
  id: z.uuid(),
  identifier: z.string(),
  scope: z.string(),
  accessTokenTtl: z.number().int().nullable(),
  createdAt: dateTime,
});

export const userRolesOut = z.object({ userId: z.uuid(), roles: z.array(z.string()) });

export const revokedOut = z.object({ sessions: z.number().int(), grants: z.number().int() });
