// Retention: `cli purge` (run as a separate process while the server runs) deletes what has
// expired or been used, and nothing else. Also the CLI's status commands revoke access.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/services/crypto.ts';
import { createUser } from '../src/services/users.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import { cli } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const backends = `${DATABASE_URL ? 'PostgreSQL' : 'PGlite (through the server socket)'} + ${REDIS_URL ? 'Redis' : 'in-process store'}`;
const DAY = 24 * 3600 * 1000;

describe(`purge and user status from the CLI (${backends})`, () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer('purge', { embeddedOnDisk: true });
  }, 60_000);
  afterAll(async () => {
    await srv?.stop();
  });

  it('removes expired and used rows and old login attempts, keeps the rest', async () => {
    const p = srv.db.prisma;
    const u = await createUser(p, { email: 'keep@example.test', password: 'a long enough password' });
    const past = new Date(Date.now() - 1000);
    const future = new Date(Date.now() + DAY);
    let n = 0;
    const token = (expiresAt: Date, usedAt: Date | null = null) => ({ userId: u.id, tokenHash: sha256Hex(`t${n++}`), expiresAt, usedAt });
    await p.emailVerificationToken.createMany({ data: [{ ...token(past), email: u.email }, { ...token(future, new Date()), email: u.email }, { ...token(future), email: u.email }] });
    await p.passwordResetToken.createMany({ data: [token(past), token(future, new Date()), token(future)] });
    await p.loginAttempt.createMany({
      data: [
        { successful: false, reason: 'bad_password', userId: u.id, createdAt: new Date(Date.now() - 91 * DAY) },
        { successful: false, reason: 'unknown_user', userId: null, createdAt: new Date(Date.now() - 91 * DAY) },
        { successful: true, reason: 'password', userId: u.id, createdAt: new Date(Date.now() - 89 * DAY) },
      ],
    });
    const session = (id: string, expiresAt: Date) => ({ id: sha256Hex(id), uid: id, userId: u.id, payload: {}, expiresAt });
    await p.session.createMany({ data: [session('old-session', past), session('live-session', future)] });
    await p.grant.createMany({ data: [{ id: 'old-grant', userId: u.id, clientId: 'c', payload: {}, expiresAt: past }, { id: 'live-grant', userId: u.id, clientId: 'c', payload: {}, expiresAt: future }] });
    await p.refreshToken.createMany({
      data: [
        { tokenHash: sha256Hex('old-rt'), grantId: 'old-grant', clientId: 'c', userId: u.id, payload: {}, expiresAt: past },
        { tokenHash: sha256Hex('used-live-rt'), grantId: 'live-grant', clientId: 'c', userId: u.id, payload: {}, expiresAt: future, consumedAt: new Date() },
      ],
    });

    const r = await cli(srv, ['purge']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ sessions: 1, grants: 1, refreshTokens: 1, verificationTokens: 2, resetTokens: 2, loginAttempts: 2 });

    expect(await p.emailVerificationToken.count({ where: { userId: u.id } })).toBe(1);
    expect(await p.passwordResetToken.count({ where: { userId: u.id } })).toBe(1);
    expect((await p.loginAttempt.findMany({ where: { userId: u.id } })).map((a) => a.reason)).toEqual(['password']);
    expect((await p.session.findMany({ where: { userId: u.id } })).map((s) => s.uid)).toEqual(['live-session']);
    expect((await p.grant.findMany({ where: { userId: u.id } })).map((g) => g.id)).toEqual(['live-grant']);
    // A consumed but unexpired refresh token stays: reuse detection needs it.
    expect(await p.refreshToken.count({ where: { userId: u.id } })).toBe(1);
    expect(await p.user.count({ where: { id: u.id } })).toBe(1);

    const again = await cli(srv, ['purge', '--retention-days', '30']);
    expect(again.json).toMatchObject({ sessions: 0, loginAttempts: 1 });
    expect((await cli(srv, ['purge', '--retention-days', 'soon'])).code).toBe(2);
  });

  it('suspends from the CLI, ending sessions and grants', async () => {
    const p = srv.db.prisma;
    const u = await createUser(p, { email: 'cli-sus@example.test', username: 'clisus', password: 'a long enough password' });
    await p.session.create({ data: { id: sha256Hex('s1'), uid: 's1', userId: u.id, payload: {}, expiresAt: new Date(Date.now() + DAY) } });
    await p.grant.create({ data: { id: 'g-sus', userId: u.id, clientId: 'c', payload: {}, expiresAt: new Date(Date.now() + DAY) } });
    const r = await cli(srv, ['user', 'suspend', '--user', 'clisus']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: 'suspended', changed: true, sessions: 1, grants: 1 });
    expect((await p.user.findUniqueOrThrow({ where: { id: u.id } })).status).toBe('suspended');
    expect(await p.session.count({ where: { userId: u.id } })).toBe(0);
    const ev = await p.accountEvent.findFirstOrThrow({ where: { userId: u.id, type: 'status_changed' } });
    expect(ev.metadata).toMatchObject({ from: 'active', to: 'suspended', actor: 'cli' });
    expect((await cli(srv, ['user', 'suspend', '--user', 'nobody'])).code).toBe(2);
  });
});
