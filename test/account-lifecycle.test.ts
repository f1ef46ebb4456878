// Account lifecycle end to end: a started server sending real mail to an SMTP server in the test,
// openid-client as the relying party, the hosted forms posted as a browser would.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.ts';
import { setUserStatus } from '../src/services/account-status.ts';
import { createUser } from '../src/services/users.ts';
import { Agent, formAction, formField, type Hop } from './support/agent.ts';
import { signIn } from './support/flow.ts';
import { Mailbox } from './support/mailbox.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';

const REDIRECT = 'http://rp.lifecycle.test/cb';
const PASSWORD = 'a long and unusual passphrase';
const backends = `${DATABASE_URL ? 'PostgreSQL' : 'PGlite'} + ${REDIS_URL ? 'Redis' : 'in-process store'}`;

let srv: TestServer;
let mail: Mailbox;
let rp: oidc.Configuration;

async function authorize() {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url: url.toString(), verifier, state };
}

/** Finishes consent (if asked) and redeems the code at the relying party. */
async function finish(agent: Agent, hop: Hop, req: { verifier: string; state: string }) {
  if (hop.status === 303 && hop.location!.startsWith(srv.issuer)) hop = await agent.follow(hop.location!, srv.issuer);
  if (hop.status === 200 && hop.body.includes('/confirm"')) {
    const res = await agent.submit(hop.url, formAction(hop.body, '/confirm'), { csrf: formField(hop.body, 'csrf') });
    hop = await agent.follow(res.location!, srv.issuer);
  }
  expect(hop.location ?? hop.url).toContain(REDIRECT);
  return oidc.authorizationCodeGrant(rp, new URL(hop.location!), { pkceCodeVerifier: req.verifier, expectedState: req.state });
}

async function openRegister(agent: Agent) {
  const req = await authorize();
  const login = await agent.follow(req.url, srv.issuer);
  expect(login.body).toContain('Create an account');
  const page = await agent.request(new URL(formAction(login.body, '/login').replace('/login', '/register'), login.url).toString());
  expect(page.status).toBe(200);
  return { req, page };
}

async function register(agent: Agent, page: Hop, fields: Record<string, string>) {
  return agent.submit(page.url, formAction(page.body, '/register'), { csrf: formField(page.body, 'csrf'), ...fields });
}

function linkIn(m: { links: string[] }, path: string): string {
  const link = m.links.find((l) => l.includes(path));
  if (!link) throw new Error(`no ${path} link in mail`);
  return link;
}

async function events(userId: string) {
  return srv.db.prisma.accountEvent.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });
}

describe(`account lifecycle (${backends}, real SMTP)`, () => {
  beforeAll(async () => {
    mail = new Mailbox();
    const smtpUrl = await mail.start();
    srv = await startTestServer('lifecycle', { env: { SMTP_URL: smtpUrl, MAIL_FROM: 'Identity <no-reply@lifecycle.test>' } });
    await createClient(srv.db.prisma, { id: 'lc', secret: 'lc-secret-0123456789abcdef', redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'], scope: 'openid email offline_access' });
    rp = await oidc.discovery(new URL(srv.issuer), 'lc', 'lc-secret-0123456789abcdef', undefined, { execute: [oidc.allowInsecureRequests] });
  }, 60_000);

  afterAll(async () => {
    await srv?.stop();
    await mail?.stop();
  });

  it('registers, mails a verification link, and signs in to the relying party only once verified', async () => {
    const agent = new Agent();
    const { req, page } = await openRegister(agent);
    const res = await register(agent, page, { email: 'Reg@Example.test', username: 'reg_user', password: PASSWORD, firstName: 'Réka' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Check your email');
    const user = await srv.db.prisma.user.findUniqueOrThrow({ where: { email: 'reg@example.test' } });
    expect(user.emailVerified).toBe(false);
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
    // DEFAULT_ROLES (default "user") applies to self-registration too.
    const roles = await srv.db.prisma.userRole.findMany({ where: { userId: user.id }, include: { role: true } });
    expect(roles.map((r) => r.role.name)).toEqual(['user']);

    // Not verified yet: Continue keeps the user here.
    const early = await agent.submit(res.url, formAction(res.body, '/continue'), { csrf: formField(res.body, 'csrf') });
    expect(early.status).toBe(400);
    expect(early.body).toContain('not verified yet');

    const m = await mail.waitFor('reg@example.test', /Confirm your email/);
    expect(m.subject).not.toMatch(/token|http/i);
    const verified = await agent.request(linkIn(m, '/account/verify-email?token='));
    expect(verified.status).toBe(200);
    expect(verified.body).toContain('Email address confirmed');
    // Single use.
    expect((await agent.request(linkIn(m, '/account/verify-email?token='))).status).toBe(400);

    const cont = await agent.submit(res.url, formAction(res.body, '/continue'), { csrf: formField(res.body, 'csrf') });
    expect(cont.status).toBe(303);
    const tokens = await finish(agent, cont, req);
    expect(tokens.claims()!.email).toBe('reg@example.test');
    expect(tokens.claims()!.email_verified).toBe(true);
    const types = (await events(user.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['registered', 'verification_sent', 'email_verified', 'login_succeeded']));
  });

  it('a newer verification link makes the older one useless', async () => {
    const agent = new Agent();
    const { page } = await openRegister(agent);
    const res = await register(agent, page, { email: 'twice@example.test', username: 'twice', password: PASSWORD });
    const first = await mail.waitFor('twice@example.test', /Confirm your email/);
    const before = mail.messages.length;
    const resent = await agent.submit(res.url, formAction(res.body, '/resend'), { csrf: formField(res.body, 'csrf') });
    expect(resent.status).toBe(200);
    const second = await mail.waitFor('twice@example.test', /Confirm your email/, { since: before });
    expect((await agent.request(linkIn(first, 'verify-email'))).status).toBe(400);
    expect((await agent.request(linkIn(second, 'verify-email'))).status).toBe(200);
  });

  it('does not reveal that an email is taken: same page for the visitor, a mail for the owner', async () => {
    await createUser(srv.db.prisma, { email: 'owner@example.test', password: PASSWORD, emailVerified: true });
    const agent = new Agent();
    const { page } = await openRegister(agent);
    const taken = await register(agent, page, { email: 'owner@example.test', username: 'intruder', password: PASSWORD });
    const agent2 = new Agent();
    const { page: page2 } = await openRegister(agent2);
    const fresh = await register(agent2, page2, { email: 'newcomer@example.test', username: 'newcomer', password: PASSWORD });
    const strip = (h: string) => h.replace(/\/interaction\/[^/"]+/g, '').replace(/value="[^"]*"/g, '').replace(/owner|newcomer/g, '');
    expect(taken.status).toBe(fresh.status);
    expect(strip(taken.body)).toBe(strip(fresh.body));
    const m = await mail.waitFor('owner@example.test', /tried to create/);
    expect(m.text).toContain('/account/forgot');
    expect(await srv.db.prisma.user.count({ where: { username: 'intruder' } })).toBe(0);
  });

  it('refuses weak passwords and bad fields next to the field, keeping typed values but never the password', async () => {
    const agent = new Agent();
    const { page } = await openRegister(agent);
    const cases: [Record<string, string>, string, string][] = [
      [{ email: 'weak@example.test', username: 'weak1', password: 'short' }, 'password', 'at least 12'],
      [{ email: 'weak@example.test', username: 'weak1', password: '1qaz2wsx3edc' }, 'password', 'too common'],
      [{ email: 'weak@example.test', username: 'weak1', password: 'weak@example.test' }, 'password', 'must not be your email'],
      [{ email: 'weak@example.test', username: 'weakusername1', password: 'WeakUsername1' }, 'password', 'must not be your email address or username'],
      [{ email: 'not-an-email', username: 'weak1', password: PASSWORD }, 'email', 'valid email'],
      [{ email: 'weak@example.test', username: 'no spaces!', password: PASSWORD }, 'username', '3–50 letters'],
      [{ email: 'weak@example.test', username: 'x'.repeat(51), password: PASSWORD }, 'username', 'at most 50'],
      [{ email: 'weak@example.test', username: 'weak1', password: 'p'.repeat(129) }, 'password', 'at most 128'],
    ];
    for (const [fields, field, message] of cases) {
      const res = await register(agent, page, fields);
      expect(res.status, message).toBe(400);
      expect(res.body).toContain(`id="${field}-error"`);
      expect(res.body).toContain(message.replace('–', '–'));
      if (fields.password !== fields.email) expect(res.body).not.toContain(`value="${fields.password}"`);
      if (field !== 'email') expect(res.body).toContain(`value="${fields.email}"`);
    }
    expect(await srv.db.prisma.user.count({ where: { email: 'weak@example.test' } })).toBe(0);
  });

  it('escapes HTML in names and refuses bytes that are not UTF-8', async () => {
    const agent = new Agent();
    const { page } = await openRegister(agent);
    const bad = await agent.request(new URL(formAction(page.body, '/register'), page.url).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.concat([Buffer.from(`csrf=${formField(page.body, 'csrf')}&email=utf%40example.test&username=utf8&password=${encodeURIComponent(PASSWORD)}&firstName=`), Buffer.from([0xc3, 0x28, 0xff])]),
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('characters we cannot accept');
    const res = await register(agent, page, { email: 'html@example.test', username: 'html_name', password: PASSWORD, firstName: '<script>alert(1)</script>' });
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('<script>alert');
    const u = await srv.db.prisma.user.findUniqueOrThrow({ where: { email: 'html@example.test' } });
    expect(u.firstName).toBe('<script>alert(1)</script>');
  });

  it('holds an unverified user on the check-email page at sign-in', async () => {
    await createUser(srv.db.prisma, { email: 'unver@example.test', password: PASSWORD });
    const agent = new Agent();
    const req = await authorize();
    const hop = await signIn(agent, srv.issuer, req.url, { login: 'unver@example.test', password: PASSWORD });
    expect(hop.status).toBe(200);
    expect(hop.body).toContain('Check your email');
    expect(hop.location).toBeUndefined();
    const m = await mail.waitFor('unver@example.test', /Confirm your email/);
    expect((await agent.request(linkIn(m, 'verify-email'))).status).toBe(200);
    const cont = await agent.submit(hop.url, formAction(hop.body, '/continue'), { csrf: formField(hop.body, 'csrf') });
    const tokens = await finish(agent, cont, req);
    expect(tokens.claims()!.email_verified).toBe(true);
  });

  it('resets a forgotten password: same answer for unknown emails, old refresh token dead afterwards', async () => {
    const user = await createUser(srv.db.prisma, { email: 'forgetful@example.test', username: 'forgetful', password: PASSWORD, emailVerified: true });
    const agent = new Agent();
    const req = await authorize();
    const signedIn = await signIn(agent, srv.issuer, req.url, { login: 'forgetful', password: PASSWORD });
    const before = await finish(agent, signedIn, req);
    expect(before.refresh_token).toBeTruthy();

    const other = new Agent();
    const form = await other.request(`${srv.issuer}/account/forgot`);
    const ask = (email: string) => other.submit(form.url, '/account/forgot', { csrf: formField(form.body, 'csrf'), email });
    const known = await ask('forgetful@example.test');
    const unknown = await ask('nobody-here@example.test');
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toBe(known.body);
    const m = await mail.waitFor('forgetful@example.test', /Reset your/);
    await new Promise((r) => setTimeout(r, 300));
    expect(mail.to('nobody-here@example.test')).toHaveLength(0);

    const link = linkIn(m, '/account/reset?token=');
    const resetPage = await other.request(link);
    expect(resetPage.status).toBe(200);
    const post = (password: string, token = formField(resetPage.body, 'token')) =>
      other.submit(link, '/account/reset', { csrf: formField(resetPage.body, 'csrf'), token, password });
    const weak = await post('qwerty123456');
    expect(weak.status).toBe(400);
    expect(weak.body).toContain('too common');
    expect((await post('NEW pass phrase that is long', 'A'.repeat(43))).status).toBe(400);
    const done = await post('NEW pass phrase that is long');
    expect(done.status).toBe(200);
    expect(done.body).toContain('Password changed');
    expect((await post('another long pass phrase')).status).toBe(400);

    await expect(oidc.refreshTokenGrant(rp, before.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await mail.waitFor('forgetful@example.test', /password was changed/);
    const fresh = new Agent();
    const req2 = await authorize();
    const again = await signIn(fresh, srv.issuer, req2.url, { login: 'forgetful', password: 'NEW pass phrase that is long' });
    await finish(fresh, again, req2);
    const types = (await events(user.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['password_reset_requested', 'password_reset_completed']));
    const row = await srv.db.prisma.passwordResetToken.findFirstOrThrow({ where: { userId: user.id } });
    expect(row.ipHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.usedAt).not.toBeNull();
  });

  it('limits reset requests per address so nobody can flood a mailbox', async () => {
    const agent = new Agent();
    const form = await agent.request(`${srv.issuer}/account/forgot`);
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await agent.submit(form.url, '/account/forgot', { csrf: formField(form.body, 'csrf'), email: 'flood@example.test' })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('lets a signed-in user change password and email on the account page', async () => {
    const user = await createUser(srv.db.prisma, { email: 'acct@example.test', password: PASSWORD, emailVerified: true });
    const agent = new Agent();
    const start = await agent.follow(`${srv.issuer}/account`, srv.issuer);
    const hop = await agent.submit(start.url, formAction(start.body, '/login'), { csrf: formField(start.body, 'csrf'), login: 'acct@example.test', password: PASSWORD });
    const page = await agent.follow(hop.location!, srv.issuer);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Your account');
    expect(page.body).toContain('acct@example.test');

    const wrong = await agent.submit(page.url, '/account/password', { csrf: formField(page.body, 'csrf'), currentPassword: 'not my password at all', newPassword: 'brand new long passphrase' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('current password is not correct');
    const ok = await agent.submit(page.url, '/account/password', { csrf: formField(page.body, 'csrf'), currentPassword: PASSWORD, newPassword: 'brand new long passphrase' });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('Your password was changed');
    await mail.waitFor('acct@example.test', /password was changed/);
    // Still signed in here.
    expect((await agent.request(`${srv.issuer}/account`)).status).toBe(200);

    const change = await agent.submit(page.url, '/account/email', { csrf: formField(page.body, 'csrf'), email: 'acct-new@example.test', password: 'brand new long passphrase' });
    expect(change.status).toBe(200);
    await mail.waitFor('acct@example.test', /being changed/);
    const m = await mail.waitFor('acct-new@example.test', /Confirm your email/);
    expect((await srv.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).email).toBe('acct@example.test');
    expect((await agent.request(linkIn(m, 'verify-email'))).status).toBe(200);
    const after = await srv.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.email).toBe('acct-new@example.test');
    expect(after.emailVerified).toBe(true);
    const types = (await events(user.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['password_changed', 'email_change_requested', 'email_change_completed']));
    // No personal data in event metadata.
    for (const e of await events(user.id)) expect(JSON.stringify(e.metadata)).not.toMatch(/@|acct|127\.0\.0\.1/);
  });

  it('suspending a user ends their sessions and refresh tokens at once', async () => {
    const user = await createUser(srv.db.prisma, { email: 'sus2@example.test', password: PASSWORD, emailVerified: true });
    const agent = new Agent();
    const req = await authorize();
    const tokens = await finish(agent, await signIn(agent, srv.issuer, req.url, { login: 'sus2@example.test', password: PASSWORD }), req);
    expect(await srv.db.prisma.session.count({ where: { userId: user.id } })).toBe(1);
    const revoke = (grantId: string) => srv.revokeGrant(grantId);
    const r = await setUserStatus(srv.db.prisma, revoke, user.id, 'suspended');
    expect(r.changed).toBe(true);
    expect(await srv.db.prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect(await srv.db.prisma.grant.count({ where: { userId: user.id } })).toBe(0);
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await setUserStatus(srv.db.prisma, revoke, user.id, 'active');
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await events(user.id)).filter((e) => e.type === 'status_changed')).toHaveLength(2);
  });

  it('answers forged, expired and malformed links with a readable 400', async () => {
    const agent = new Agent();
    for (const path of ['/account/verify-email?token=forged', '/account/verify-email?token=' + 'A'.repeat(43), '/account/reset?token=%00%ff', '/account/reset', '/account/verify-email?token=a&token=b']) {
      const res = await agent.request(`${srv.issuer}${path}`);
      expect(res.status, path).toBe(400);
      expect(res.body).toContain('Link not valid');
    }
    const u = await createUser(srv.db.prisma, { email: 'expired@example.test', password: PASSWORD });
    const { issueVerificationToken } = await import('../src/services/one-time-tokens.ts');
    const token = await issueVerificationToken(srv.db.prisma, u.id, u.email);
    await srv.db.prisma.emailVerificationToken.updateMany({ where: { userId: u.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await agent.request(`${srv.issuer}/account/verify-email?token=${token}`)).status).toBe(400);
    expect((await srv.db.prisma.user.findUniqueOrThrow({ where: { id: u.id } })).emailVerified).toBe(false);
    const form = await agent.request(`${srv.issuer}/account/forgot`);
    const noCsrf = await agent.submit(form.url, '/account/forgot', { email: 'x@example.test' });
    expect(noCsrf.status).toBe(403);
  });
});

describe('without SMTP and with registration turned off', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startTestServer('nosmtp', { env: { REGISTRATION_ENABLED: 'false' } });
    await createClient(plain.db.prisma, { id: 'lc', secret: 'lc-secret-0123456789abcdef', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scope: 'openid' });
  }, 60_000);
  afterAll(async () => {
    await plain?.stop();
  });

  it('writes mail as .eml files under DATA_DIR/mail', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    await createUser(plain.db.prisma, { email: 'eml@example.test', password: PASSWORD, emailVerified: true });
    const agent = new Agent();
    const form = await agent.request(`${plain.issuer}/account/forgot`);
    const res = await agent.submit(form.url, '/account/forgot', { csrf: formField(form.body, 'csrf'), email: 'eml@example.test' });
    expect(res.status).toBe(200);
    let files: string[] = [];
    for (let i = 0; i < 100 && !files.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      files = (() => {
        try {
          return readdirSync(`${plain.dataDir}/mail`).filter((f) => f.endsWith('.eml'));
        } catch {
          return [];
        }
      })();
    }
    expect(files).toHaveLength(1);
    const eml = readFileSync(`${plain.dataDir}/mail/${files[0]}`, 'utf8');
    expect(eml).toMatch(/^To: eml@example\.test$/m);
    expect(eml).toContain('/account/reset?token=');
  });

  it('hides registration when it is turned off', async () => {
    const agent = new Agent();
    const verifier = oidc.randomPKCECodeVerifier();
    const q = new URLSearchParams({ client_id: 'lc', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const login = await agent.follow(`${plain.issuer}/auth?${q}`, plain.issuer);
    expect(login.body).toContain('/login"');
    expect(login.body).not.toContain('Create an account');
    const reg = await agent.request(new URL(formAction(login.body, '/login').replace('/login', '/register'), login.url).toString());
    expect(reg.status).toBe(404);
    expect(reg.body).toContain('turned off');
  });
});
