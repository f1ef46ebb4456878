// Second factors end to end: TOTP enrolled on the account page and used at sign-in, replay
// refused, backup codes single use (with a notice mail), acr_values enforcement and step-up,
// the per-user session cap. A started server, openid-client, real SMTP.
import * as oidc from 'openid-client';
import { generate } from 'otplib';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MFA_ACR, PWD_ACR } from '../src/provider/acr.ts';
import { createClient } from '../src/services/clients.ts';
import { createUser } from '../src/services/users.ts';
import { Agent, formAction, formField, type Hop } from './support/agent.ts';
import { postForm, proceed as proceedOnIssuer } from './support/flow.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import { Mailbox } from './support/mailbox.ts';
import { SoftAuthenticator } from './support/webauthn.ts';
import { freePort, startTestServer, type TestServer } from './support/server.ts';

const REDIRECT = 'http://rp.mfa.test/cb';
const PASSWORD = 'a long and unusual passphrase';
const backends = `${DATABASE_URL ? 'PostgreSQL' : 'PGlite'} + ${REDIS_URL ? 'Redis' : 'in-process store'}`;

let srv: TestServer;
let mail: Mailbox;
// A stand-in SMS gateway: receives the webhook calls and checks their signature.
const SMS_SECRET = 'sms-webhook-secret-0123456789';
const texts: { to: string; text: string; signed: boolean }[] = [];
let gateway: Server;
let gatewayDown = false;
let rp: oidc.Configuration;

async function authorize(extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { url: url.toString(), verifier, state };
}

const post = postForm;

const proceed = (agent: Agent, hop: Hop) => proceedOnIssuer(agent, hop, srv.issuer);

async function passwordStep(agent: Agent, url: string, login: string): Promise<Hop> {
  const page = await agent.follow(url, srv.issuer);
  return proceed(agent, await post(agent, page, '/login', { login, password: PASSWORD }));
}

async function redeem(hop: Hop, req: { verifier: string; state: string }) {
  expect(hop.location ?? hop.url).toContain(REDIRECT);
  return oidc.authorizationCodeGrant(rp, new URL(hop.location!), { pkceCodeVerifier: req.verifier, expectedState: req.state });
}

describe(`second factors and sessions (${backends})`, () => {
  let secret = '';
  let backupCodes: string[] = [];
  const browser = new Agent();

  beforeAll(async () => {
    mail = new Mailbox();
    gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (gatewayDown) {
          res.writeHead(503).end();
          return;
        }
        const expected = `sha256=${createHmac('sha256', SMS_SECRET).update(`${req.headers['x-timestamp']}.${body}`).digest('hex')}`;
        texts.push({ ...(JSON.parse(body) as { to: string; text: string }), signed: req.headers['x-signature'] === expected });
        res.writeHead(202).end();
      });
    });
    const gwPort = await freePort();
    await new Promise<void>((r) => gateway.listen(gwPort, '127.0.0.1', r));
    srv = await startTestServer('mfa', {
      env: { SMTP_URL: await mail.start(), TRUST_PROXY: 'true', SMS_WEBHOOK_URL: `http://127.0.0.1:${gwPort}/sms`, SMS_WEBHOOK_SECRET: SMS_SECRET },
    });
    await createClient(srv.db.prisma, { id: 'mfa-rp', secret: 'mfa-secret-0123456789abcdef', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scope: 'openid email' });
    rp = await oidc.discovery(new URL(srv.issuer), 'mfa-rp', 'mfa-secret-0123456789abcdef', undefined, { execute: [oidc.allowInsecureRequests] });
    await createUser(srv.db.prisma, { email: 'totp@example.test', password: PASSWORD, emailVerified: true });
    await createUser(srv.db.prisma, { email: 'plain@example.test', password: PASSWORD, emailVerified: true });
  }, 60_000);

  afterAll(async () => {
    await srv?.stop();
    await mail?.stop();
    if (gateway) await new Promise((r) => gateway.close(r));
  });

  it('enrolls an authenticator app on the account page and hands out 10 backup codes once', async () => {
    const start = await browser.follow(`${srv.issuer}/account/security`, srv.issuer);
    const signed = await proceed(browser, await post(browser, start, '/login', { login: 'totp@example.test', password: PASSWORD }));
    expect(signed.status).toBe(200);
    const security = await browser.request(`${srv.issuer}/account/security`);
    expect(security.body).toContain('Set up an authenticator app');
    const setup = await post(browser, security, '/totp/start', {});
    expect(setup.status).toBe(200);
    expect(setup.body).toMatch(/<img src="data:image\/png;base64,/);
    secret = setup.body.match(/id="totp-key">([^<]+)</)![1].replace(/\s/g, '');
    const row = await srv.db.prisma.twoFactorMethod.findFirstOrThrow({ where: { user: { email: 'totp@example.test' } } });
    expect(row.verified).toBe(false);
    expect(row.secretEnc).not.toContain(secret);

    const wrong = await post(browser, setup, '/totp/confirm', { code: '000000' });
    expect(wrong.status).toBe(400);
    const ok = await post(browser, setup, '/totp/confirm', { code: await generate({ secret, epoch: Date.now() / 1000 - 30 }) });
    expect(ok.status).toBe(200);
    backupCodes = [...ok.body.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]);
    expect(backupCodes).toHaveLength(10);
    const again = await browser.request(`${srv.issuer}/account/security`);
    expect(again.body).not.toContain(backupCodes[0]);
    const stored = await srv.db.prisma.backupCode.findMany({ where: { user: { email: 'totp@example.test' } } });
    expect(stored.map((c) => c.codeHash)).not.toContain(backupCodes[0]);
  });

  it('asks for the code after the password; amr and acr show it; the same code cannot be used twice', async () => {
    const agent = new Agent();
    const req = await authorize();
    const mfaPage = await passwordStep(agent, req.url, 'totp@example.test');
    expect(mfaPage.status).toBe(200);
    expect(mfaPage.body).toContain('Enter your code');
    const code = await generate({ secret });
    const tokens = await redeem(await proceed(agent, await post(agent, mfaPage, '/mfa', { code })), req);
    const claims = tokens.claims()!;
    expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
    expect(claims.acr).toBe(MFA_ACR);

    const other = new Agent();
    const req2 = await authorize();
    const page2 = await passwordStep(other, req2.url, 'totp@example.test');
    const replay = await post(other, page2, '/mfa', { code });
    expect(replay.status).toBe(401);
    expect(replay.body).toContain('not valid');
  });

  it('accepts a backup code once and mails the owner', async () => {
    const agent = new Agent();
    const req = await authorize();
    const page = await passwordStep(agent, req.url, 'totp@example.test');
    const tokens = await redeem(await proceed(agent, await post(agent, page, '/mfa', { code: backupCodes[0].toUpperCase() })), req);
    expect(tokens.claims()!.acr).toBe(MFA_ACR);
    const m = await mail.waitFor('totp@example.test', /backup code was used/);
    expect(m.text).toContain('9 unused backup codes');

    const again = new Agent();
    const req2 = await authorize();
    const page2 = await passwordStep(again, req2.url, 'totp@example.test');
    expect((await post(again, page2, '/mfa', { code: backupCodes[0] })).status).toBe(401);
    const types = (await srv.db.prisma.accountEvent.findMany({ where: { user: { email: 'totp@example.test' } } })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['mfa_enrolled', 'mfa_used', 'backup_code_used', 'login_failed']));
  });

  it('locks the code step after 5 wrong codes, with a readable 429', async () => {
    const user = await createUser(srv.db.prisma, { email: 'guess@example.test', password: PASSWORD, emailVerified: true });
    await srv.db.prisma.twoFactorMethod.create({ data: { userId: user.id, type: 'totp', verified: true, secretEnc: null } });
    const { regenerateBackupCodes } = await import('../src/services/backup-codes.ts');
    const codes = await regenerateBackupCodes(srv.db.prisma, srv.config.hmacKey, user.id);
    const agent = new Agent();
    const req = await authorize();
    let page = await passwordStep(agent, req.url, 'guess@example.test');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(agent, page, '/mfa', { code: i % 2 ? 'zzzzz-zzzzz' : '123456' });
      statuses.push(res.status);
      page = res;
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect(page.body).toContain('Try again in');
    // Even a right code is not checked while locked, and is not used up.
    expect((await post(agent, page, '/mfa', { code: codes[0] })).status).toBe(429);
    expect(await srv.db.prisma.backupCode.count({ where: { usedAt: null, userId: user.id } })).toBe(10);
  });

  it('a client asking for acr_values=mfa never gets a password-only login', async () => {
    const agent = new Agent();
    // A password-only session first.
    const req = await authorize();
    const plain = await redeem(await passwordStep(agent, req.url, 'plain@example.test'), req);
    expect(plain.claims()!.acr).toBe(PWD_ACR);
    // Same browser, the client now demands MFA: the user has none, so no code is issued.
    const req2 = await authorize({ acr_values: MFA_ACR });
    const page = await proceed(agent, await agent.request(req2.url));
    expect(page.status).toBe(403);
    expect(page.body).toContain('second factor is required');
    const back = await post(agent, page, '/abort', {});
    const end = await agent.follow(back.location!, srv.issuer);
    const rpUrl = new URL(end.location ?? end.url);
    expect(rpUrl.origin + rpUrl.pathname).toBe(REDIRECT);
    expect(rpUrl.searchParams.get('code')).toBeNull();
    expect(rpUrl.searchParams.get('error')).toBe('access_denied');
  });

  it('does not prompt again when the session already has a second factor', async () => {
    const agent = new Agent();
    const req = await authorize();
    const page = await passwordStep(agent, req.url, 'totp@example.test');
    await redeem(await proceed(agent, await post(agent, page, '/mfa', { code: backupCodes[1] })), req);
    // With an MFA session, acr_values=mfa needs no new prompt.
    const req2 = await authorize({ acr_values: MFA_ACR });
    const silent = await proceed(agent, await agent.request(req2.url));
    const t = await redeem(silent, req2);
    expect(t.claims()!.acr).toBe(MFA_ACR);
  });

  it('asks a password-only session for the second factor only (step-up)', async () => {
    const user = await createUser(srv.db.prisma, { email: 'stepup@example.test', password: PASSWORD, emailVerified: true });
    const agent = new Agent();
    const req = await authorize();
    await redeem(await passwordStep(agent, req.url, 'stepup@example.test'), req);
    // Now the user enrols a factor (directly, as the account page would) and a client asks for MFA.
    const { regenerateBackupCodes } = await import('../src/services/backup-codes.ts');
    await srv.db.prisma.twoFactorMethod.create({ data: { userId: user.id, type: 'totp', verified: true, secretEnc: null } });
    const codes = await regenerateBackupCodes(srv.db.prisma, srv.config.hmacKey, user.id);
    const req2 = await authorize({ acr_values: MFA_ACR });
    const page = await proceed(agent, await agent.request(req2.url));
    expect(page.body).toContain('Enter your code');
    expect(page.body).not.toContain('name="password"');
    const t = await redeem(await proceed(agent, await post(agent, page, '/mfa', { code: codes[0] })), req2);
    expect(t.claims()!.acr).toBe(MFA_ACR);
    expect((await srv.db.prisma.accountEvent.count({ where: { userId: user.id, type: 'step_up' } }))).toBe(1);
  });

  it('keeps at most 5 sessions per user: the 6th sign-in ends the oldest', async () => {
    const user = await createUser(srv.db.prisma, { email: 'many@example.test', password: PASSWORD, emailVerified: true });
    const agents: Agent[] = [];
    for (let i = 0; i < 6; i++) {
      const agent = new Agent();
      const req = await authorize();
      await redeem(await passwordStep(agent, req.url, 'many@example.test'), req);
      agents.push(agent);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await srv.db.prisma.session.count({ where: { userId: user.id } })).toBe(5);
    // The first browser is signed out: a new authorization shows the login form again.
    const first = await agents[0].follow((await authorize()).url, srv.issuer);
    expect(first.body).toContain('name="password"');
    // The second still has its session.
    const second = await agents[1].follow((await authorize()).url, srv.issuer);
    expect(second.location ?? '').toContain(REDIRECT);
  });

  it('steps up a sign-in from an unknown device and network with an emailed code, then remembers the device', async () => {
    const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
    const user = await createUser(srv.db.prisma, { email: 'roam@example.test', password: PASSWORD, emailVerified: true });
    const home = new Agent({ 'user-agent': CHROME });
    const req = await authorize();
    await redeem(await passwordStep(home, req.url, 'roam@example.test'), req);
    const first = await srv.db.prisma.session.findFirstOrThrow({ where: { userId: user.id } });
    expect(first).toMatchObject({ browser: 'Chrome 120', os: 'Linux', verificationStatus: 'verified' });
    expect(first.ipHash).toMatch(/^[0-9a-f]{64}$/);

    const travel = new Agent({ 'user-agent': CHROME, 'x-forwarded-for': '203.0.113.9' });
    const req2 = await authorize();
    const before = mail.messages.length;
    const page = await passwordStep(travel, req2.url, 'roam@example.test');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Confirm it is you');
    const m = await mail.waitFor('roam@example.test', /sign-in code/, { since: before });
    expect(m.subject).not.toMatch(/\d{6}/);
    const code = m.text.match(/(\d{6})/)![1];
    expect((await post(travel, page, '/device', { code: code === '000000' ? '111111' : '000000' })).status).toBe(401);
    const done = await proceed(travel, await post(travel, page, '/device', { code, remember: 'on' }));
    const t = await redeem(done, req2);
    expect(t.claims()!.acr).toBe(PWD_ACR);
    await mail.waitFor('roam@example.test', /New sign-in/, { since: before });
    const rows = await srv.db.prisma.session.findMany({ where: { userId: user.id }, orderBy: { createdAt: 'asc' } });
    expect(rows).toHaveLength(2);
    expect(rows[1].verificationStatus).toBe('stepped_up');
    expect(rows[1].ipHash).not.toBe(rows[0].ipHash);

    // The remembered device signs in from yet another network without a code.
    const cookies = new Map(travel.jar);
    const again = new Agent({ 'user-agent': CHROME, 'x-forwarded-for': '198.51.100.4' });
    for (const [k, v] of cookies) if (k.startsWith('dev_')) again.jar.set(k, v);
    const req3 = await authorize();
    await redeem(await passwordStep(again, req3.url, 'roam@example.test'), req3);
  });

  it('enrols a phone by SMS through the webhook gateway and signs in with a texted code', async () => {
    await createUser(srv.db.prisma, { email: 'sms@example.test', password: PASSWORD, emailVerified: true });
    const agent = new Agent();
    const start = await agent.follow(`${srv.issuer}/account/security`, srv.issuer);
    await proceed(agent, await post(agent, start, '/login', { login: 'sms@example.test', password: PASSWORD }));
    const security = await agent.request(`${srv.issuer}/account/security`);
    const bad = await post(agent, security, '/sms/start', { phone: '0151 not a number' });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('international format');
    const sent = await post(agent, security, '/sms/start', { phone: '+49 151 2345 6789' });
    expect(sent.status).toBe(200);
    const enrolText = texts.at(-1)!;
    expect(enrolText).toMatchObject({ to: '+4915123456789', signed: true });
    const enrolCode = enrolText.text.match(/(\d{6})/)![1];
    expect((await post(agent, sent, '/sms/confirm', { code: enrolCode === '000000' ? '111111' : '000000' })).status).toBe(400);
    const confirmed = await post(agent, sent, '/sms/confirm', { code: enrolCode });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toContain('Text messages are set up');
    expect(confirmed.body).toContain('+49•••89');

    const rpAgent = new Agent();
    const req = await authorize();
    const mfaPage = await passwordStep(rpAgent, req.url, 'sms@example.test');
    expect(mfaPage.body).toContain('Text a code to +49•••89');
    const textedPage = await post(rpAgent, mfaPage, '/sms', {});
    expect(textedPage.status).toBe(200);
    const loginCode = texts.at(-1)!.text.match(/(\d{6})/)![1];
    const t = await redeem(await proceed(rpAgent, await post(rpAgent, textedPage, '/mfa', { code: loginCode })), req);
    expect(t.claims()!.amr).toEqual(expect.arrayContaining(['pwd', 'sms', 'mfa']));
    expect(t.claims()!.acr).toBe(MFA_ACR);

    // A gateway failure is a readable error, not a 500; and sending is rate limited (3 per 15 min).
    const other = new Agent();
    const req2 = await authorize();
    const page2 = await passwordStep(other, req2.url, 'sms@example.test');
    gatewayDown = true;
    const down = await post(other, page2, '/sms', {});
    gatewayDown = false;
    expect(down.status).toBe(502);
    expect(down.body).toContain('could not send');
    expect((await post(other, page2, '/sms', {})).status).toBe(429);

    // Removing text messages asks for the password; the last factor takes the backup codes with it.
    const sec = await agent.request(`${srv.issuer}/account/security`);
    expect((await post(agent, sec, '/sms/remove', { password: 'not the password at all' })).status).toBe(400);
    const removed = await post(agent, sec, '/sms/remove', { password: PASSWORD });
    expect(removed.status).toBe(200);
    expect(removed.body).toContain('Text messages were removed');
    const smsUser = await srv.db.prisma.user.findUniqueOrThrow({ where: { email: 'sms@example.test' } });
    expect(await srv.db.prisma.twoFactorMethod.count({ where: { userId: smsUser.id } })).toBe(0);
    expect(await srv.db.prisma.backupCode.count({ where: { userId: smsUser.id } })).toBe(0);
  });

  it('registers a passkey and uses it passwordless and as a second factor; replays and foreign origins fail', async () => {
    await createUser(srv.db.prisma, { email: 'pk@example.test', password: PASSWORD, emailVerified: true });
    const auth = new SoftAuthenticator(srv.issuer);
    const agent = new Agent();
    const start = await agent.follow(`${srv.issuer}/account/security`, srv.issuer);
    await proceed(agent, await post(agent, start, '/login', { login: 'pk@example.test', password: PASSWORD }));
    const security = await agent.request(`${srv.issuer}/account/security`);
    const jsonPost = (a: Agent, url: string, csrf: string) =>
      a.request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ csrf }) });
    const regOpts = await jsonPost(agent, `${srv.issuer}/account/security/passkeys/options`, formField(security.body, 'csrf'));
    expect(regOpts.status).toBe(200);
    const added = await agent.submit(security.url, '/account/security/passkeys', {
      csrf: formField(security.body, 'csrf'),
      name: 'Laptop <b>',
      response: JSON.stringify(auth.create(JSON.parse(regOpts.body))),
    });
    expect(added.status).toBe(200);
    expect(added.body).toContain('Passkey &quot;Laptop &lt;b&gt;&quot; added.');
    const row = await srv.db.prisma.twoFactorMethod.findFirstOrThrow({ where: { user: { email: 'pk@example.test' }, type: 'webauthn' } });
    expect(row.credentialId).toBe(auth.credentialId.toString('base64url'));

    // Passwordless, from the login page.
    const pl = new Agent();
    const req = await authorize();
    const login = await pl.follow(req.url, srv.issuer);
    const opts = JSON.parse((await jsonPost(pl, new URL(formAction(login.body, '/passkey').replace('/passkey', '/passkey/options'), login.url).toString(), formField(login.body, 'csrf'))).body);
    expect(opts.allowCredentials ?? []).toHaveLength(0);
    const assertion = JSON.stringify(auth.get(opts));
    const signedIn = await post(pl, login, '/passkey', { response: assertion });
    const t = await redeem(await proceed(pl, signedIn), req);
    expect(t.claims()!.amr).toEqual(['swk', 'mfa']);
    expect(t.claims()!.acr).toBe(MFA_ACR);

    // The same assertion again: its challenge is used up.
    const pl2 = new Agent();
    const req2 = await authorize();
    const login2 = await pl2.follow(req2.url, srv.issuer);
    await jsonPost(pl2, new URL(formAction(login2.body, '/passkey').replace('/passkey', '/passkey/options'), login2.url).toString(), formField(login2.body, 'csrf'));
    const replay = await post(pl2, login2, '/passkey', { response: assertion });
    expect(replay.status).toBe(401);
    // A phishing origin, and garbage.
    const opts3 = JSON.parse((await jsonPost(pl2, new URL(formAction(login2.body, '/passkey').replace('/passkey', '/passkey/options'), login2.url).toString(), formField(login2.body, 'csrf'))).body);
    expect((await post(pl2, login2, '/passkey', { response: JSON.stringify(auth.get(opts3, { origin: 'https://evil.example' })) })).status).toBe(401);
    expect((await post(pl2, login2, '/passkey', { response: '{not json' })).status).toBe(400);

    // As the second factor after the password (the MFA page offers only this user's passkeys).
    const two = new Agent();
    const req4 = await authorize();
    const mfaPage = await passwordStep(two, req4.url, 'pk@example.test');
    expect(mfaPage.body).toContain('Use a passkey');
    const opts4 = JSON.parse((await jsonPost(two, new URL(formAction(mfaPage.body, '/passkey').replace('/passkey', '/passkey/options'), mfaPage.url).toString(), formField(mfaPage.body, 'csrf'))).body);
    expect(opts4.allowCredentials.map((c: { id: string }) => c.id)).toEqual([row.credentialId]);
    const stranger = new SoftAuthenticator(srv.issuer);
    expect((await post(two, mfaPage, '/passkey', { response: JSON.stringify(stranger.get(opts4)) })).status).toBe(401);
    const opts5 = JSON.parse((await jsonPost(two, new URL(formAction(mfaPage.body, '/passkey').replace('/passkey', '/passkey/options'), mfaPage.url).toString(), formField(mfaPage.body, 'csrf'))).body);
    const t2 = await redeem(await proceed(two, await post(two, mfaPage, '/passkey', { response: JSON.stringify(auth.get(opts5)) })), req4);
    expect(t2.claims()!.amr).toEqual(['pwd', 'swk', 'mfa']);

    // Removal needs the password.
    const page = await agent.request(`${srv.issuer}/account/security`);
    expect((await agent.submit(page.url, '/account/security/passkeys/remove', { csrf: formField(page.body, 'csrf'), id: row.id, password: 'wrong password here' })).status).toBe(400);
    expect((await agent.submit(page.url, '/account/security/passkeys/remove', { csrf: formField(page.body, 'csrf'), id: row.id, password: PASSWORD })).status).toBe(200);
    expect(await srv.db.prisma.twoFactorMethod.count({ where: { id: row.id } })).toBe(0);
  });
});
