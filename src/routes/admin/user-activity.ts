// /users/{id}/sessions and /users/{id}/events: what a user has open, ending it, and their audit trail.
import { z } from 'zod';
import { eventsPage } from '../../services/pages.ts';
import { listSessions, revokeAllSessions, revokeSession } from '../../services/user-sessions.ts';
import { route } from './define.ts';
import { dateTime, idParams, pageOf, pageQuery, revokedOut } from './schemas.ts';

const tag = 'users';

const sessionOut = z.object({
  uid: z.string(),
  createdAt: dateTime,
  lastActiveAt: dateTime,
  expiresAt: dateTime,
  browser: z.string().nullable(),
  os: z.string().nullable(),
  verificationStatus: z.string(),
  clients: z.array(z.string()).describe('Clients this session has signed in to'),
});

const eventOut = z.object({
  id: z.uuid(),
  type: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: dateTime,
});

export const userActivityRoutes = [
  route({
    method: 'get',
    path: '/users/{id}/sessions',
    operationId: 'listUserSessions',
    summary: "List a user's live browser sessions, most recently active first",
    tag,
    permission: 'admin:users:read',
    params: idParams,
    response: z.object({ items: z.array(sessionOut) }),
    handler: async ({ params }, d) => ({ items: await listSessions(d.prisma, params.id) }),
  }),
  route({
    method: 'delete',
    path: '/users/{id}/sessions',
    operationId: 'revokeUserSessions',
    summary: "End all of a user's sessions and revoke their grants and refresh tokens",
    tag,
    permission: 'admin:users:write',
    params: idParams,
    response: revokedOut,
    handler: ({ params, actor }, d) => revokeAllSessions(d.prisma, d.revokeGrant, actor, params.id),
  }),
  route({
    method: 'delete',
    path: '/users/{id}/sessions/{uid}',
    operationId: 'revokeUserSession',
    summary: 'End one session and revoke the grants it authorized',
    tag,
    permission: 'admin:users:write',
    params: z.object({ id: z.uuid(), uid: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/) }).strict(),
    status: 204,
    handler: ({ params, actor }, d) => revokeSession(d.prisma, d.revokeGrant, actor, params.id, params.uid),
  }),
  route({
    method: 'get',
    path: '/users/{id}/events',
    operationId: 'listUserEvents',
    summary: "List a user's account events, newest first",
    tag,
    permission: 'admin:users:read',
    params: idParams,
    query: z.object(pageQuery).strict(),
    response: pageOf(eventOut),
    handler: ({ params, query }, d) => eventsPage(d.prisma, d.config.hmacKey, params.id, query),
  }),
];
