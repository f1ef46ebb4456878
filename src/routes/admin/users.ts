// /users: listing with filters and cursors, creation, updates, status, password, deletion, roles.
import { z } from 'zod';
import { usersPage } from '../../services/pages.ts';
import { setUserRole } from '../../services/roles.ts';
import { changeStatus } from '../../services/user-sessions.ts';
import { createUserByAdmin, deleteUserByAdmin, getUser, setPasswordByAdmin, updateUserByAdmin } from '../../services/user-admin.ts';
import { emailSchema, usernameSchema } from '../../services/users.ts';
import { route } from './define.ts';
import { idParams, pageOf, pageQuery, roleName, userOut, userRolesOut, revokedOut } from './schemas.ts';

const tag = 'users';
const username = usernameSchema.transform((u) => u.toLowerCase());
const personName = z.string().trim().min(1).max(100);
const phone = z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number such as +14155550100');

const listQuery = z
  .object({
    email: z.string().trim().min(1).max(254).optional().describe('Substring of the email address'),
    username: z.string().trim().min(1).max(50).optional().describe('Substring of the username'),
    status: z.enum(['active', 'suspended', 'disabled']).optional(),
    role: roleName.optional(),
    ...pageQuery,
  })
  .strict();

const createBody = z
  .object({
    email: emailSchema,
    username: username.optional(),
    password: z.string().min(1).max(128).optional().describe('Checked against the password rules; without it the user cannot sign in with a password'),
    emailVerified: z.boolean().optional(),
    firstName: personName.optional(),
    lastName: personName.optional(),
    phone: phone.optional(),
    roles: z.array(roleName).max(50).optional().describe('Defaults to DEFAULT_ROLES'),
  })
  .strict();

const updateBody = z
  .object({
    email: emailSchema.optional(),
    username: username.nullable().optional(),
    emailVerified: z.boolean().optional(),
    firstName: personName.nullable().optional(),
    lastName: personName.nullable().optional(),
    phone: phone.nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'at least one field is required');

const statusOut = z.object({ id: z.uuid(), status: z.string(), changed: z.boolean(), sessions: z.number().int(), grants: z.number().int() });

const statusRoute = (action: 'suspend' | 'disable' | 'reactivate', status: 'suspended' | 'disabled' | 'active', summary: string) =>
  route({
    method: 'post',
    path: `/users/{id}/${action}`,
    operationId: `${action}User`,
    summary,
    tag,
    permission: 'admin:users:write',
    params: idParams,
    response: statusOut,
    handler: ({ params, actor }, d) => changeStatus(d.prisma, d.revokeGrant, actor, params.id, status),
  });

const userRoleParams = z.object({ id: z.uuid(), role: roleName }).strict();

export const userRoutes = [
  route({
    method: 'get',
    path: '/users',
    operationId: 'listUsers',
    summary: 'List users, oldest first, filtered by email, username, status or role',
    tag,
    permission: 'admin:users:read',
    query: listQuery,
    response: pageOf(userOut),
    handler({ query }, { prisma, config }) {
      const { limit, cursor, ...filters } = query;
      return usersPage(prisma, config.hmacKey, filters, { limit, cursor });
    },
  }),
  route({
    method: 'post',
    path: '/users',
    operationId: 'createUser',
    summary: 'Create a user',
    tag,
    permission: 'admin:users:write',
    body: createBody,
    status: 201,
    response: userOut,
    handler: ({ body, actor }, d) => createUserByAdmin(d.prisma, actor, body, d.config.account.defaultRoles),
  }),
  route({
    method: 'get',
    path: '/users/{id}',
    operationId: 'getUser',
    summary: 'Get a user',
    tag,
    permission: 'admin:users:read',
    params: idParams,
    response: userOut,
    handler: ({ params }, d) => getUser(d.prisma, params.id),
  }),
  route({
    method: 'patch',
    path: '/users/{id}',
    operationId: 'updateUser',
    summary: 'Update a user; a new email is unverified unless emailVerified is given',
    tag,
    permission: 'admin:users:write',
    params: idParams,
    body: updateBody,
    response: userOut,
    handler: ({ params, body, actor }, d) => updateUserByAdmin(d.prisma, actor, params.id, body),
  }),
  route({
    method: 'delete',
    path: '/users/{id}',
    operationId: 'deleteUser',
    summary: 'Delete a user and everything of theirs (sessions, grants, tokens, events)',
    tag,
    permission: 'admin:users:write',
    params: idParams,
    status: 204,
    handler: ({ params, actor }, d) => deleteUserByAdmin(d.prisma, d.revokeGrant, actor, params.id),
  }),
  statusRoute('suspend', 'suspended', 'Suspend a user: ends sessions, revokes grants and refresh tokens'),
  statusRoute('disable', 'disabled', 'Disable a user: ends sessions, revokes grants and refresh tokens'),
  statusRoute('reactivate', 'active', 'Reactivate a suspended or disabled user'),
  route({
    method: 'put',
    path: '/users/{id}/password',
    operationId: 'setUserPassword',
    summary: "Set a user's password (password rules apply); by default ends their sessions",
    tag,
    permission: 'admin:users:write',
    params: idParams,
    body: z.object({ password: z.string().min(1).max(128), revokeSessions: z.boolean().default(true) }).strict(),
    response: revokedOut.extend({ id: z.uuid() }),
    handler: ({ params, body, actor }, d) => setPasswordByAdmin(d.prisma, d.revokeGrant, actor, params.id, body),
  }),
  route({
    method: 'put',
    path: '/users/{id}/roles/{role}',
    operationId: 'assignUserRole',
    summary: 'Give a user a role (idempotent); their next token carries it',
    tag,
    permission: 'admin:roles:write',
    params: userRoleParams,
    response: userRolesOut,
    handler: async ({ params, actor }, d) => ({ userId: params.id, roles: await setUserRole(d.prisma, actor, params.id, params.role, true) }),
  }),
  route({
    method: 'delete',
    path: '/users/{id}/roles/{role}',
    operationId: 'removeUserRole',
    summary: 'Take a role from a user (idempotent)',
    tag,
    permission: 'admin:roles:write',
    params: userRoleParams,
    response: userRolesOut,
    handler: async ({ params, actor }, d) => ({ userId: params.id, roles: await setUserRole(d.prisma, actor, params.id, params.role, false) }),
  }),
];
