// `user`: the admin API's user operations from the command line (actor "cli" in the events).
import type { PrismaClient } from '../generated/prisma/client.ts';
import { CLI_ACTOR } from '../services/admin-audit.ts';
import { setUserStatus } from '../services/account-status.ts';
import { eventsPage, usersPage } from '../services/pages.ts';
import { setUserRole } from '../services/roles.ts';
import { deleteUserByAdmin, getUser, setPasswordByAdmin, updateUserByAdmin } from '../services/user-admin.ts';
import { listSessions, revokeAllSessions } from '../services/user-sessions.ts';
import { emailSchema, findUserById, findUserByLogin, usernameSchema } from '../services/users.ts';
import { command, defineGroup, intOpt, opt, req } from './command.ts';
import { CliError, withDb, withStores } from './context.ts';
import { createUserCommand } from './user-create.ts';

export async function resolveUser(prisma: PrismaClient, ref: string) {
  const user = (await findUserById(prisma, ref)) ?? (await findUserByLogin(prisma, ref));
  if (!user) throw new CliError(`no user "${ref}"`);
  return user;
}

const who = { user: { type: 'string' } } as const;
const page = { limit: { type: 'string' }, cursor: { type: 'string' } } as const;
const STATUS = { suspend: 'suspended', disable: 'disabled', activate: 'active', reactivate: 'active' } as const;

const status = (sub: keyof typeof STATUS, describe: string) =>
  command({
    usage: '--user ID|EMAIL|USERNAME',
    describe,
    options: who,
    run: (v) =>
      withStores(async ({ db, revokeGrant }) => {
        const user = await resolveUser(db.prisma, req(v, 'user'));
        const r = await setUserStatus(db.prisma, revokeGrant, user.id, STATUS[sub], { actor: 'cli', actorType: 'cli', actorId: 'cli', action: `user.status.${STATUS[sub]}` });
        return { id: user.id, status: STATUS[sub], ...r };
      }),
  });

const role = (present: boolean) =>
  command({
    usage: '--user ID|EMAIL|USERNAME --role NAME',
    describe: present ? "Gives a role; the user's next token carries it." : 'Takes a role away.',
    options: { ...who, role: { type: 'string' } },
    run: (v) =>
      withDb(async ({ db }) => {
        const user = await resolveUser(db.prisma, req(v, 'user'));
        return { userId: user.id, roles: await setUserRole(db.prisma, CLI_ACTOR, user.id, req(v, 'role'), present) };
      }),
  });

const group = defineGroup('user', {
  create: createUserCommand,
  list: command({
    usage: '[--email SUBSTR] [--username SUBSTR] [--status active|suspended|disabled] [--role NAME] [--limit N] [--cursor C]',
    describe: 'Lists users, oldest first; pass nextCursor as --cursor for the next page.',
    options: { email: { type: 'string' }, username: { type: 'string' }, status: { type: 'string' }, role: { type: 'string' }, ...page },
    run: (v) =>
      withDb(({ db, config }) => {
        const s = opt(v, 'status');
        if (s && !['active', 'suspended', 'disabled'].includes(s)) throw new CliError('--status must be active, suspended or disabled');
        const filters = { email: opt(v, 'email'), username: opt(v, 'username'), status: s as 'active' | undefined, role: opt(v, 'role') };
        return usersPage(db.prisma, config.hmacKey, filters, { limit: intOpt(v, 'limit', 1, 1000) ?? 100, cursor: opt(v, 'cursor') });
      }),
  }),
  get: command({
    usage: '--user ID|EMAIL|USERNAME',
    options: who,
    run: (v) => withDb(async ({ db }) => getUser(db.prisma, (await resolveUser(db.prisma, req(v, 'user'))).id)),
  }),
  update: command({
    usage: '--user ID|EMAIL|USERNAME [--email E] [--username U] [--first-name F] [--last-name L] [--verified true|false]',
    describe: 'Changes profile fields; a new email is unverified unless --verified true is given.',
    options: { ...who, email: { type: 'string' }, username: { type: 'string' }, 'first-name': { type: 'string' }, 'last-name': { type: 'string' }, verified: { type: 'string' } },
    run: (v) =>
      withDb(async ({ db }) => {
        const user = await resolveUser(db.prisma, req(v, 'user'));
        const verified = opt(v, 'verified');
        if (verified !== undefined && verified !== 'true' && verified !== 'false') throw new CliError('--verified must be true or false');
        const patch = Object.fromEntries(
          Object.entries({
            email: opt(v, 'email') === undefined ? undefined : emailSchema.parse(opt(v, 'email')),
            username: opt(v, 'username') === undefined ? undefined : usernameSchema.parse(opt(v, 'username')).toLowerCase(),
            firstName: opt(v, 'first-name')?.slice(0, 100),
            lastName: opt(v, 'last-name')?.slice(0, 100),
            emailVerified: verified === undefined ? undefined : verified === 'true',
          }).filter(([, x]) => x !== undefined),
        );
        if (!Object.keys(patch).length) throw new CliError('nothing to change');
        return updateUserByAdmin(db.prisma, CLI_ACTOR, user.id, patch);
      }),
  }),
  delete: command({
    usage: '--user ID|EMAIL|USERNAME',
    describe: 'Deletes the user and everything of theirs (sessions, grants, tokens, events).',
    options: who,
    run: (v) =>
      withStores(async ({ db, revokeGrant }) => {
        const user = await resolveUser(db.prisma, req(v, 'user'));
        await deleteUserByAdmin(db.prisma, revokeGrant, CLI_ACTOR, user.id);
        return { deleted: user.id };
      }),
  }),
  'set-password': command({
    usage: '--user ID|EMAIL|USERNAME --password P [--keep-sessions]',
    describe: 'Sets a password (password rules apply) and ends the sessions unless --keep-sessions.',
    options: { ...who, password: { type: 'string' }, 'keep-sessions': { type: 'boolean' } },
    run: (v) =>
      withStores(async ({ db, revokeGrant }) => {
        const user = await resolveUser(db.prisma, req(v, 'user'));
        return setPasswordByAdmin(db.prisma, revokeGrant, CLI_ACTOR, user.id, { password: req(v, 'password'), revokeSessions: !v['keep-sessions'] });
      }),
  }),
  suspend: status('suspend', "Ends the user's sessions and revokes their grants and refresh tokens at once."),
  disable: status('disable', 'As suspend; for accounts closed for good.'),
  activate: status('activate', 'Makes a suspended or disabled user active again (alias: reactivate).'),
  reactivate: status('reactivate', 'Same as activate.'),
  'add-role': role(true),
  'remove-role': role(false),
  sessions: command({
    usage: '--user ID|EMAIL|USERNAME',
    describe: 'Lists live browser sessions.',
    options: who,
    run: (v) => withDb(async ({ db }) => ({ items: await listSessions(db.prisma, (await resolveUser(db.prisma, req(v, 'user'))).id) })),
  }),
  'revoke-sessions': command({
    usage: '--user ID|EMAIL|USERNAME',
    describe: 'Ends every session and revokes grants and refresh tokens.',
    options: who,
    run: (v) => withStores(async ({ db, revokeGrant }) => revokeAllSessions(db.prisma, revokeGrant, CLI_ACTOR, (await resolveUser(db.prisma, req(v, 'user'))).id)),
  }),
  events: command({
    usage: '--user ID|EMAIL|USERNAME [--limit N] [--cursor C]',
    describe: 'Lists account events, newest first.',
    options: { ...who, ...page },
    run: (v) =>
      withDb(async ({ db, config }) => {
        const user = await resolveUser(db.prisma, req(v, 'user'));
        return eventsPage(db.prisma, config.hmacKey, user.id, { limit: intOpt(v, 'limit', 1, 1000) ?? 100, cursor: opt(v, 'cursor') });
      }),
  }),
});

export const help = group.help;
export const run = group.run;
export const commands = group.commands;
