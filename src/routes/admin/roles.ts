// /roles and /permissions: definitions and which permissions each role grants.
import { z } from 'zod';
import { readCursor, signCursor, toPage } from '../../services/cursor.ts';
import { createPermission, deletePermission, getPermission, listPermissions, permissionView, updatePermission } from '../../services/permissions.ts';
import { createRole, deleteRole, getRole, listRoles, roleView, setRolePermission, updateRole } from '../../services/roles.ts';
import { route } from './define.ts';
import { description, nameParams, pageOf, pageQuery, permissionName, permissionOut, roleName, roleOut } from './schemas.ts';

const listQuery = z.object(pageQuery).strict();
const permParams = z.object({ name: permissionName }).strict();
const rolePermParams = z.object({ name: roleName, permission: permissionName }).strict();
const describeBody = z.object({ description: description.nullable() }).strict();

export const roleRoutes = [
  route({
    method: 'get',
    path: '/roles',
    operationId: 'listRoles',
    summary: 'List roles by name',
    tag: 'roles',
    permission: 'admin:roles:read',
    query: listQuery,
    response: pageOf(roleOut),
    async handler({ query }, { prisma, config }) {
      const after = query.cursor ? readCursor(config.hmacKey, 'roles', {}, query.cursor, 1)[0] : undefined;
      const rows = await listRoles(prisma, { after, limit: query.limit });
      return toPage(rows, query.limit, roleView, (r) => signCursor(config.hmacKey, 'roles', {}, [r.name]));
    },
  }),
  route({
    method: 'post',
    path: '/roles',
    operationId: 'createRole',
    summary: 'Create a role, optionally with permissions',
    tag: 'roles',
    permission: 'admin:roles:write',
    body: z.object({ name: roleName, description: description.optional(), permissions: z.array(permissionName).max(200).optional() }).strict(),
    status: 201,
    response: roleOut,
    handler: ({ body, actor }, d) => createRole(d.prisma, actor, body),
  }),
  route({
    method: 'get',
    path: '/roles/{name}',
    operationId: 'getRole',
    summary: 'Get a role with its permissions',
    tag: 'roles',
    permission: 'admin:roles:read',
    params: nameParams,
    response: roleOut,
    handler: ({ params }, d) => getRole(d.prisma, params.name),
  }),
  route({
    method: 'patch',
    path: '/roles/{name}',
    operationId: 'updateRole',
    summary: "Change a role's description",
    tag: 'roles',
    permission: 'admin:roles:write',
    params: nameParams,
    body: describeBody,
    response: roleOut,
    handler: ({ params, body, actor }, d) => updateRole(d.prisma, actor, params.name, body),
  }),
  route({
    method: 'delete',
    path: '/roles/{name}',
    operationId: 'deleteRole',
    summary: 'Delete a role; refused (409) while any user holds it, and for the built-in roles',
    tag: 'roles',
    permission: 'admin:roles:write',
    params: nameParams,
    status: 204,
    handler: ({ params, actor }, d) => deleteRole(d.prisma, actor, params.name),
  }),
  route({
    method: 'put',
    path: '/roles/{name}/permissions/{permission}',
    operationId: 'addRolePermission',
    summary: 'Grant a permission to a role (idempotent)',
    tag: 'roles',
    permission: 'admin:roles:write',
    params: rolePermParams,
    response: roleOut,
    handler: ({ params, actor }, d) => setRolePermission(d.prisma, actor, params.name, params.permission, true),
  }),
  route({
    method: 'delete',
    path: '/roles/{name}/permissions/{permission}',
    operationId: 'removeRolePermission',
    summary: 'Take a permission from a role (idempotent)',
    tag: 'roles',
    permission: 'admin:roles:write',
    params: rolePermParams,
    response: roleOut,
    handler: ({ params, actor }, d) => setRolePermission(d.prisma, actor, params.name, params.permission, false),
  }),
  route({
    method: 'get',
    path: '/permissions',
    operationId: 'listPermissions',
    summary: 'List permissions by name',
    tag: 'permissions',
    permission: 'admin:roles:read',
    query: listQuery,
    response: pageOf(permissionOut),
    async handler({ query }, { prisma, config }) {
      const after = query.cursor ? readCursor(config.hmacKey, 'permissions', {}, query.cursor, 1)[0] : undefined;
      const rows = await listPermissions(prisma, { after, limit: query.limit });
      return toPage(rows, query.limit, permissionView, (p) => signCursor(config.hmacKey, 'permissions', {}, [p.name]));
    },
  }),
  route({
    method: 'post',
    path: '/permissions',
    operationId: 'createPermission',
    summary: 'Create a permission (a scope of the resource server that checks it)',
    tag: 'permissions',
    permission: 'admin:roles:write',
    body: z.object({ name: permissionName, description: description.optional() }).strict(),
    status: 201,
    response: permissionOut,
    handler: ({ body, actor }, d) => createPermission(d.prisma, actor, body),
  }),
  route({
    method: 'get',
    path: '/permissions/{name}',
    operationId: 'getPermission',
    summary: 'Get a permission and the roles that grant it',
    tag: 'permissions',
    permission: 'admin:roles:read',
    params: permParams,
    response: permissionOut,
    handler: ({ params }, d) => getPermission(d.prisma, params.name),
  }),
  route({
    method: 'patch',
    path: '/permissions/{name}',
    operationId: 'updatePermission',
    summary: "Change a permission's description",
    tag: 'permissions',
    permission: 'admin:roles:write',
    params: permParams,
    body: describeBody,
    response: permissionOut,
    handler: ({ params, body, actor }, d) => updatePermission(d.prisma, actor, params.name, body),
  }),
  route({
    method: 'delete',
    path: '/permissions/{name}',
    operationId: 'deletePermission',
    summary: 'Delete a permission; refused (409) while a role grants it, and for the admin API’s own',
    tag: 'permissions',
    permission: 'admin:roles:write',
    params: permParams,
    status: 204,
    handler: ({ params, actor }, d) => deletePermission(d.prisma, actor, params.name),
  }),
];
