// Social sign-in end to end with real protocol peers: a second oidc-provider instance as the
// upstream for the generic and Google presets, a small server speaking GitHub's OAuth endpoints
// and user API, our server, openid-client as the relying party, and a real SMTP receiver.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import Provider from 'oidc-provider';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.ts';
import { decrypt } from '../src/services/crypto.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../src/services/totp.ts';
import { createUser } from '../src/services/users.ts';
import { Agent, formAction, formField, type Hop } from './support/agent.ts';
import { postForm, proceed as proceedOnIssuer } from './support/flow.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import { adminApi, clientToken } from './support/admin.ts';
import { cli } from './support/cli.ts';
import { Mailbox } from './support/mailbox.ts';
import { freePort, startTestServer, type TestServer } from './support/server.ts';

const REDIRECT = 'http://rp.fed.test/cb';
const PASSWORD = 'a long and unusual passphrase';
const UP_SECRET = 'upstream-client-secret-0123456789';
const GH_SECRET = 'github-client-secret-0123456789';
const backends = `${DATABASE_URL ? 'PostgreSQL' : 'PGlite'} + ${REDIS_URL ? 'Redis' : 'in-process store'}`;

let srv: TestServer;
let mail: Mailbox;
let rp: oidc.Configuration;

// --- the upstream OpenID Connect provider -------------------------------------------------------
const upstreamAccounts: Record<string, Record<string, unknown>> = {};
let upstreamSub = '';
let upPort = 0;
let upIssuer = '';
let upServer: Server;
let upHandler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

function startUpstream(): Promise<void> {
  upServer = createServer(upHandler);
  return new Promise((r) => upServer.listen(upPort, '127.0.0.1', r));
}
function stopUpstream(): Promise<void> {
  upServer.closeAllConnections();
  return new Promise((r) => upServer.close(() => r()));
}

// --- the GitHub stand-in ------------------------------------------------------------------------
const ghUsers: Record<string, { id: number; login: string; name: string; emails: { email: string; primary: boolean; verified: boolean }[] }> = {};
let ghCurrent = '';
let ghServer: Server;
let ghUrl = '';
const ghCodes = new Map<string, { challenge: string; login: string; redirectUri: string }>();
const ghTokens = new Map<string, string>();

function githubServer(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url!, ghUrl);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/login/oauth/authorize') {
      const code = randomBytes(12).toString('hex');
      ghCodes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', login: ghCurrent, redirectUri: url.searchParams.get('redirect_uri')! });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state')!);
      return res.writeHead(302, { location: back.toString() }).end();
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const f = new URLSearchParams(body);
        const grant = ghCodes.get(f.get('code') ?? '');
        ghCodes.delete(f.get('code') ?? '');
        const verifierOk = grant && createHash('sha256').update(f.get('code_verifier') ?? '').digest('base64url') === grant.challenge;
        if (f.get('client_id') !== 'gh-client' || f.get('client_secret') !== GH_SECRET || !grant || !verifierOk || f.get('redirect_uri') !== grant.redirectUri) {
          return json(400, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
        }
        const token = `gho_${randomBytes(16).toString('hex')}`;
        ghTokens.set(token, grant.login);
        json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      });
      return;
    }
    const login = ghTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!login) return json(401, { message: 'Bad credentials' });
    const u = ghUsers[login];
    if (url.pathname === '/user') return json(200, { id: u.id, login: u.login, name: u.name, avatar_url: `https://avatars.example.test/${u.id}` });
    if (url.pathname === '/user/emails') return json(200, u.emails);
    json(404, { message: 'Not Found' });
  });
}

// --- helpers ------------------------------------------------------------------------------------
const post = postForm;

const proceed = (agent: Agent, hop: Hop) => proceedOnIssuer(agent, hop, srv.issuer);

async function authorize() {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
  return { url: url.toString(), verifier, state };
}

/** Login page -> "Continue with <provider>": the 303 to the upstream. */
async function startFederated(agent: Agent, startUrl: string, provider: string): Promise<Hop> {
  const page = await agent.follow(startUrl, srv.issuer);
  expect(page.body).toContain(`name="provider" value="${provider}"`);
  const res = await post(agent, page, '/federated', { provider });
  expect(res.status).toBe(303);
  return res;
}

/** The person at the upstream (its own cookies): returns our callback URL with the upstream's answer. */
async function atUpstream(authorizeUrl: string, tamper?: (u: URL) => void): Promise<string> {
  const u = new URL(authorizeUrl);
  tamper?.(u);
  const hop = await new Agent().follow(u.toString(), u.origin);
  expect(hop.location, hop.body.slice(0, 300)).toContain('/federation/callback/');
  return hop.location!;
}

async function fedSignIn(agent: Agent, startUrl: string, provider: string): Promise<Hop> {
  const cb = await atUpstream((await startFederated(agent, startUrl, provider)).location!);
  return proceed(agent, await agent.request(cb));
}

async function redeem(hop: Hop, req: { verifier: string; state: string }) {
  expect(hop.location ?? hop.url).toContain(REDIRECT);
  return oidc.authorizationCodeGrant(rp, new URL(hop.location!), { pkceCodeVerifier: req.verifier, expectedState: req.state });
}

const userByEmail = (email: string) => srv.db.prisma.user.findUnique({ where: { email }, include: { federatedIdentities: true } });
const events = (userId: string) => srv.db.prisma.accountEvent.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });

describe(`social sign-in and account linking (${backends})`, () => {
  beforeAll(async () => {
    mail = new Mailbox();
    upPort = await freePort();
    upIssuer = `http://127.0.0.1:${upPort}`;
    const ghPort = await freePort();
    ghUrl = `http://127.0.0.1:${ghPort}`;
    const deadPort = await freePort();
    const providers = [
      { id: 'corp', type: 'oidc', name: 'Corp SSO', issuer: upIssuer, clientId: 'idsrv-corp', clientSecret: UP_SECRET },
      { id: 'google', type: 'google', issuer: upIssuer, clientId: 'idsrv-google', clientSecret: UP_SECRET },
      { id: 'github', type: 'github', clientId: 'gh-client', clientSecret: GH_SECRET, authorizationUrl: `${ghUrl}/login/oauth/authorize`, tokenUrl: `${ghUrl}/login/oauth/access_token`, apiUrl: ghUrl },
      { id: 'dead', type: 'oidc', name: 'Dead IdP', issuer: `http://127.0.0.1:${deadPort}`, clientId: 'x', clientSecret: 'y' },
    ];
    // On disk in embedded mode: the CLI (another process) reaches it through the server's socket.
    srv = await startTestServer('fed', { embeddedOnDisk: true, env: { SMTP_URL: await mail.start(), FEDERATION_PROVIDERS: JSON.stringify(providers) } });

    const up = new Provider(upIssuer, {
      clients: ['idsrv-corp', 'idsrv-google', 'idsrv-staff'].map((id) => ({
        client_id: id,
        client_secret: UP_SECRET,
        redirect_uris: [`${srv.issuer}/federation/callback/${id.slice(6)}`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      })),
      findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, ...upstreamAccounts[id] }) }),
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name', 'preferred_username'] },
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/i/${interaction.uid}` },
      cookies: { keys: ['upstream-cookie-key-0123456789'] },
      ttl: { Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
      // The upstream's consent screen is not under test: every request is pre-approved.
      loadExistingGrant: async (ctx) => {
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
    });
    const callback = up.callback();
    // A tiny interaction: signs in whoever the test says is at the keyboard.
    upHandler = (req, res) => {
      if (!req.url?.startsWith('/i/')) return void callback(req, res);
      up.interactionDetails(req, res)
        .then(() => up.interactionFinished(req, res, { login: { accountId: upstreamSub } }, { mergeWithLastSubmission: false }))
        .catch((err) => res.writeHead(500).end(String(err)));
    };
    await startUpstream();
    ghServer = githubServer();
    await new Promise<void>((r) => ghServer.listen(ghPort, '127.0.0.1', r));

    await createClient(srv.db.prisma, { id: 'fed-rp', secret: 'fed-secret-0123456789abcdef', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scope: 'openid email' });
    rp = await oidc.discovery(new URL(srv.issuer), 'fed-rp', 'fed-secret-0123456789abcdef', undefined, { execute: [oidc.allowInsecureRequests] });
  }, 60_000);

  afterAll(async () => {
    await srv?.stop();
    await mail?.stop();
    if (upServer?.listening) await stopUpstream();
    if (ghServer) await new Promise((r) => ghServer.close(r));
  });

  it('creates an account from a verified upstream email, then signs the same person in again', async () => {
    upstreamAccounts['up-alice'] = { email: 'alice@example.test', email_verified: true, name: 'Alice Upstream', given_name: 'Alice', family_name: 'Upstream' };
    upstreamSub = 'up-alice';
    const agent = new Agent();
    const req = await authorize();
    const login = await agent.follow(req.url, srv.issuer);
    expect(login.body).toContain('Continue with Corp SSO');
    expect(login.body).toContain('Continue with Google');
    expect(login.body).toContain('Continue with GitHub');
    const tokens = await redeem(await fedSignIn(agent, req.url, 'corp'), req);

    const alice = (await userByEmail('alice@example.test'))!;
    expect(tokens.claims()!.sub).toBe(alice.id);
    expect(alice).toMatchObject({ emailVerified: true, passwordHash: null, firstName: 'Alice', lastName: 'Upstream' });
    expect(alice.federatedIdentities).toHaveLength(1);
    const identity = alice.federatedIdentities[0];
    expect(identity).toMatchObject({ provider: 'corp', providerUserId: 'up-alice', status: 'active', displayName: 'Alice Upstream' });
    // Encrypted at rest, bound to its provider and upstream user.
    expect(identity.accessTokenEnc).toMatch(/^v1\./);
    expect(decrypt(srv.config.encryptionKey, identity.accessTokenEnc!, 'federated-token:corp:up-alice').length).toBeGreaterThan(10);
    const types = (await events(alice.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['registered', 'federated_linked', 'federated_login', 'login_succeeded']));
    for (const e of await events(alice.id)) expect(JSON.stringify(e.metadata)).not.toContain('@');
    const fedEvent = (await events(alice.id)).find((e) => e.type === 'federated_login')!;
    expect(fedEvent.metadata).toEqual({ provider: 'corp' });
    const attempt = await srv.db.prisma.loginAttempt.findFirst({ where: { userId: alice.id, successful: true } });
    expect(attempt?.reason).toBe('fed');

    // Again, with a new upstream display name: same account, profile refreshed.
    upstreamAccounts['up-alice'].name = 'Alice Renamed';
    const again = await authorize();
    const tokens2 = await redeem(await fedSignIn(new Agent(), again.url, 'corp'), again);
    expect(tokens2.claims()!.sub).toBe(alice.id);
    const after = (await userByEmail('alice@example.test'))!;
    expect(after.federatedIdentities[0].displayName).toBe('Alice Renamed');
    expect(after.federatedIdentities[0].lastSyncAt!.getTime()).toBeGreaterThan(identity.lastSyncAt!.getTime());
    expect(await srv.db.prisma.user.count({ where: { email: 'alice@example.test' } })).toBe(1);
  });

  it('GitHub preset: account from the primary verified email of the user API', async () => {
    ghUsers.octo = { id: 4242, login: 'octo', name: 'Octo Cat', emails: [{ email: 'other@example.test', primary: false, verified: true }, { email: 'octo@example.test', primary: true, verified: true }] };
    ghCurrent = 'octo';
    const req = await authorize();
    const tokens = await redeem(await fedSignIn(new Agent(), req.url, 'github'), req);
    const octo = (await userByEmail('octo@example.test'))!;
    expect(tokens.claims()!.sub).toBe(octo.id);
    expect(octo.federatedIdentities[0]).toMatchObject({ provider: 'github', providerUserId: '4242', upstreamLogin: 'octo', avatarUrl: 'https://avatars.example.test/4242' });
    expect(await userByEmail('other@example.test')).toBeNull();
  });

  it('never links to an existing account by email: the password (then the second factor) proves ownership first', async () => {
    const bob = await createUser(srv.db.prisma, { email: 'bob@example.test', password: PASSWORD, emailVerified: true });
    upstreamAccounts['g-bob'] = { email: 'bob@example.test', email_verified: true, name: 'Bob G' };
    upstreamSub = 'g-bob';
    const agent = new Agent();
    const req = await authorize();
    const cb = await atUpstream((await startFederated(agent, req.url, 'google')).location!);
    const prove = await proceed(agent, await agent.request(cb));
    expect(prove.status).toBe(200);
    expect(prove.body).toContain('already exists');
    expect(await srv.db.prisma.federatedIdentity.count({ where: { userId: bob.id } })).toBe(0);

    const wrong = await post(agent, prove, '/federated/password', { password: 'not the password at all' });
    expect(wrong.status).toBe(401);
    expect(await srv.db.prisma.federatedIdentity.count({ where: { userId: bob.id } })).toBe(0);

    const done = await proceed(agent, await post(agent, wrong, '/federated/password', { password: PASSWORD }));
    const tokens = await redeem(done, req);
    expect(tokens.claims()!.sub).toBe(bob.id);
    const linked = await srv.db.prisma.federatedIdentity.findMany({ where: { userId: bob.id } });
    expect(linked).toMatchObject([{ provider: 'google', providerUserId: 'g-bob' }]);
    expect((await events(bob.id)).map((e) => e.type)).toContain('federated_linked');

    // With an authenticator app enrolled, a federated sign-in still asks for the code.
    const { secret } = await startTotpEnrollment(srv.db.prisma, srv.config.encryptionKey, bob.id, { issuer: 'x', label: 'bob' });
    expect(await confirmTotpEnrollment(srv.db.prisma, srv.config.encryptionKey, bob.id, await generate({ secret }))).toBe(true);
    const before = await srv.db.prisma.accountEvent.count({ where: { userId: bob.id, type: 'login_succeeded' } });
    const mfaReq = await authorize();
    const mfa = await fedSignIn(new Agent(), mfaReq.url, 'google');
    expect(mfa.status).toBe(200);
    expect(mfa.body).toContain('/mfa"');
    expect(await srv.db.prisma.accountEvent.count({ where: { userId: bob.id, type: 'login_succeeded' } })).toBe(before);
  });

  it('an account without a password proves ownership with a link mailed to its address, opened in the same browser', async () => {
    ghUsers.carol = { id: 7, login: 'carol', name: 'Carol', emails: [{ email: 'carol@example.test', primary: true, verified: true }] };
    ghCurrent = 'carol';
    const r1 = await authorize();
    await redeem(await fedSignIn(new Agent(), r1.url, 'github'), r1);
    const carol = (await userByEmail('carol@example.test'))!;

    upstreamAccounts['up-carol'] = { email: 'carol@example.test', email_verified: true };
    upstreamSub = 'up-carol';
    const agent = new Agent();
    const req = await authorize();
    const prove = await proceed(agent, await agent.request(await atUpstream((await startFederated(agent, req.url, 'corp')).location!)));
    expect(prove.body).toContain('already exists');
    expect(prove.body).not.toContain('name="password"');
    const since = mail.messages.length;
    const sent = await post(agent, prove, '/federated/send-link', {});
    expect(sent.body).toContain('Check your email');
    const message = await mail.waitFor('carol@example.test', /Confirm your email address to continue/, { since });
    const link = message.links.find((l) => l.includes('/federated/confirm'))!;

    // Another browser (a mail scanner, or someone who was sent the link) proves nothing.
    const elsewhere = await new Agent().request(link);
    expect(elsewhere.status).toBe(400);
    expect(await srv.db.prisma.federatedIdentity.count({ where: { userId: carol.id } })).toBe(1);

    const tokens = await redeem(await proceed(agent, await agent.request(link)), req);
    expect(tokens.claims()!.sub).toBe(carol.id);
    expect((await srv.db.prisma.federatedIdentity.findMany({ where: { userId: carol.id } })).map((i) => i.provider).sort()).toEqual(['corp', 'github']);
    // The link works once.
    expect((await agent.request(link)).status).toBeGreaterThanOrEqual(400);
  });

  it('an upstream without a verified email: asks for an address and creates the account only once it is confirmed', async () => {
    upstreamAccounts['up-dave'] = { email: 'dave@upstream.test', email_verified: false, name: 'Dave' };
    upstreamSub = 'up-dave';
    const agent = new Agent();
    const req = await authorize();
    const ask = await proceed(agent, await agent.request(await atUpstream((await startFederated(agent, req.url, 'corp')).location!)));
    expect(ask.body).toContain('did not give us a verified email address');
    const since = mail.messages.length;
    const sent = await post(agent, ask, '/federated/email', { email: 'dave@example.test' });
    expect(sent.body).toContain('Check your email');
    expect(await userByEmail('dave@example.test')).toBeNull();
    expect(await userByEmail('dave@upstream.test')).toBeNull();
    const message = await mail.waitFor('dave@example.test', /Confirm your email address/, { since });
    const tokens = await redeem(await proceed(agent, await agent.request(message.links.find((l) => l.includes('/federated/confirm'))!)), req);
    const dave = (await userByEmail('dave@example.test'))!;
    expect(tokens.claims()!.sub).toBe(dave.id);
    expect(dave.emailVerified).toBe(true);
    expect(dave.federatedIdentities).toMatchObject([{ provider: 'corp', providerUserId: 'up-dave' }]);
  });

  it('refuses forged, replayed and tampered callbacks and upstream errors, writing nothing', async () => {
    upstreamAccounts['up-eve'] = { email: 'eve@example.test', email_verified: true };
    upstreamSub = 'up-eve';
    const rows = async () => ({ users: await srv.db.prisma.user.count(), identities: await srv.db.prisma.federatedIdentity.count() });
    const start = await rows();

    // Forged state.
    const a1 = new Agent();
    const cb1 = new URL(await atUpstream((await startFederated(a1, (await authorize()).url, 'corp')).location!));
    cb1.searchParams.set('state', oidc.randomState());
    const forged = await a1.request(cb1.toString());
    expect(forged.status).toBe(400);
    expect(forged.body).toContain('not valid, has expired or was already used');

    // Nonce changed on the way to the upstream: the ID token does not match.
    const a2 = new Agent();
    const cb2 = await atUpstream((await startFederated(a2, (await authorize()).url, 'corp')).location!, (u) => u.searchParams.set('nonce', 'attacker-chosen-nonce'));
    const tampered = await a2.request(cb2);
    expect(tampered.status).toBe(400);
    expect(tampered.body).toContain('could not be verified');
    // Replay of the same (now used) callback.
    const replay = await a2.request(cb2);
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('already used');

    // The upstream answers with an error.
    const a3 = new Agent();
    const toUp = new URL((await startFederated(a3, (await authorize()).url, 'corp')).location!);
    const denied = await a3.request(`${srv.issuer}/federation/callback/corp?error=access_denied&state=${toUp.searchParams.get('state')}&iss=${encodeURIComponent(upIssuer)}`);
    expect(denied.status).toBe(400);
    expect(denied.body).toContain('did not sign you in');

    // A state started for one provider, answered on another's callback.
    const a4 = new Agent();
    const cb4 = new URL(await atUpstream((await startFederated(a4, (await authorize()).url, 'corp')).location!));
    cb4.pathname = '/federation/callback/google';
    expect((await a4.request(cb4.toString())).status).toBe(400);

    expect(await rows()).toEqual(start);
    expect(await userByEmail('eve@example.test')).toBeNull();
  });

  it('a callback raced twice with the same state goes through once', async () => {
    upstreamAccounts['up-grace'] = { email: 'grace@example.test', email_verified: true };
    upstreamSub = 'up-grace';
    const agent = new Agent();
    const cb = await atUpstream((await startFederated(agent, (await authorize()).url, 'corp')).location!);
    const answers = await Promise.all([agent.request(cb), agent.request(cb)]);
    expect(answers.map((a) => a.status).sort()).toEqual([303, 400]);
  });

  it('an unreachable upstream gives a readable error page and no half-created user', async () => {
    upstreamAccounts['up-frank'] = { email: 'frank@example.test', email_verified: true };
    upstreamSub = 'up-frank';
    const agent = new Agent();
    const cb = await atUpstream((await startFederated(agent, (await authorize()).url, 'corp')).location!);
    await stopUpstream();
    try {
      const down = await agent.request(cb);
      expect(down.status).toBe(502);
      expect(down.headers.get('content-type')).toContain('text/html');
      expect(down.body).toContain('Corp SSO cannot be reached right now');
      expect(await userByEmail('frank@example.test')).toBeNull();
    } finally {
      await startUpstream();
    }
    // Discovery itself failing (an upstream that never answers).
    const page = await agent.follow((await authorize()).url, srv.issuer);
    const dead = await post(agent, page, '/federated', { provider: 'dead' });
    expect(dead.status).toBe(502);
    expect(dead.body).toContain('Dead IdP cannot be reached right now');
  });

  it('connections on the account page: link while signed in, refuse an upstream account linked elsewhere, never unlink the last way to sign in', async () => {
    // Octo has only GitHub (no password): it cannot be disconnected.
    ghCurrent = 'octo';
    const agent = new Agent();
    await fedSignIn(agent, `${srv.issuer}/account/connections`, 'github');
    let page = await agent.request(`${srv.issuer}/account/connections`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('your only way to sign in');
    const octo = (await userByEmail('octo@example.test'))!;
    const githubRow = octo.federatedIdentities[0];
    const refused = await agent.submit(page.url, '/account/connections/unlink', { csrf: formField(page.body, 'csrf'), id: githubRow.id });
    expect(refused.status).toBe(400);
    expect(await srv.db.prisma.federatedIdentity.count({ where: { userId: octo.id } })).toBe(1);

    // Linking Alice's upstream account (already linked to Alice) is refused, nothing written.
    upstreamSub = 'up-alice';
    const toUp = await post(agent, page, '/link', { provider: 'corp' });
    expect(toUp.status).toBe(303);
    const taken = await agent.request(await atUpstream(toUp.location!));
    expect(taken.status).toBe(409);
    expect(taken.body).toContain('already connected to another account');
    expect(await srv.db.prisma.federatedIdentity.count({ where: { userId: octo.id } })).toBe(1);

    // A fresh upstream account links; then GitHub can go, but not the last one.
    upstreamAccounts['up-octo'] = { email: 'octo@corp.test', email_verified: true };
    upstreamSub = 'up-octo';
    page = await agent.request(`${srv.issuer}/account/connections`);
    const linked = await agent.request(await atUpstream((await post(agent, page, '/link', { provider: 'corp' })).location!));
    expect(linked.location).toContain('/account/connections?done=linked');
    page = await agent.request(linked.location!);
    expect(page.body).toContain('Disconnect GitHub');
    expect(page.body).toContain('Disconnect Corp SSO');
    const gone = await agent.submit(page.url, '/account/connections/unlink', { csrf: formField(page.body, 'csrf'), id: githubRow.id });
    expect(gone.status).toBe(200);
    expect(gone.body).toContain('GitHub was disconnected');
    const left = await srv.db.prisma.federatedIdentity.findMany({ where: { userId: octo.id } });
    expect(left.map((i) => i.provider)).toEqual(['corp']);
    const last = await agent.submit(page.url, '/account/connections/unlink', { csrf: formField(page.body, 'csrf'), id: left[0].id });
    expect(last.status).toBe(400);
    const types = (await events(octo.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['federated_linked', 'federated_unlinked']));
    const unlinked = (await events(octo.id)).find((e) => e.type === 'federated_unlinked')!;
    expect(unlinked.metadata).toEqual({ provider: 'github' });

    // The new connection signs Octo in.
    const req = await authorize();
    expect((await redeem(await fedSignIn(new Agent(), req.url, 'corp'), req)).claims()!.sub).toBe(octo.id);
  });

  it('operators add and remove providers while servers run (CLI and admin API); secrets never come back', async () => {
    const loginPage = async () => (await new Agent().follow((await authorize()).url, srv.issuer)).body;
    const until = async (check: (body: string) => boolean) => {
      for (let i = 0; i < 50; i++) {
        if (check(await loginPage())) return true;
        await new Promise((r) => setTimeout(r, 200));
      }
      return false;
    };
    const set = await cli(srv, ['federation', 'set', '--id', 'staff', '--type', 'oidc', '--name', 'Staff SSO', '--issuer', upIssuer, '--client-id', 'idsrv-staff', '--client-secret', UP_SECRET]);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.stringify(set.json)).not.toContain(UP_SECRET);
    expect(await until((b) => b.includes('Continue with Staff SSO'))).toBe(true);
    const row = await srv.db.prisma.federationProvider.findUniqueOrThrow({ where: { id: 'staff' } });
    expect(JSON.stringify(row)).not.toContain(UP_SECRET);

    upstreamAccounts['up-staff'] = { email: 'staffer@example.test', email_verified: true };
    upstreamSub = 'up-staff';
    const req = await authorize();
    const tokens = await redeem(await fedSignIn(new Agent(), req.url, 'staff'), req);
    expect(tokens.claims()!.sub).toBe((await userByEmail('staffer@example.test'))!.id);

    // The environment's providers are not the CLI's to change.
    const envOwned = await cli(srv, ['federation', 'remove', '--id', 'corp']);
    expect(envOwned.code).toBe(2);
    expect(envOwned.stderr).toContain('FEDERATION_PROVIDERS');
    expect((await cli(srv, ['federation', 'set', '--id', 'bad', '--type', 'oidc', '--client-id', 'x', '--client-secret', 'y'])).code).toBe(2);

    await createClient(srv.db.prisma, { id: 'fed-admin', secret: 'fed-admin-secret-0123456789', grantTypes: ['client_credentials'], redirectUris: [], scope: 'admin:federation:read admin:federation:write' });
    const token = await clientToken(srv, 'fed-admin', 'fed-admin-secret-0123456789', 'admin:federation:read admin:federation:write');
    const readOnly = await clientToken(srv, 'fed-admin', 'fed-admin-secret-0123456789', 'admin:federation:read');
    const api = adminApi(srv);
    const listed = await api('GET', '/federation-providers', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((p: { id: string; source: string }) => `${p.id}:${p.source}`)).toEqual(expect.arrayContaining(['corp:environment', 'staff:database']));
    expect(JSON.stringify(listed.body)).not.toMatch(/secret/i);
    expect((await api('PUT', '/federation-providers/gh2', { token: readOnly, body: { type: 'github', clientId: 'a', clientSecret: 'b' } })).status).toBe(403);
    const invalid = await api('PUT', '/federation-providers/oops', { token, body: { type: 'oidc', clientId: 'a', clientSecret: 'b' } });
    expect(invalid.status).toBe(400);
    expect(invalid.type).toContain('application/problem+json');
    expect((await api('PUT', '/federation-providers/x', { token, body: { type: 'github', clientId: 'a', clientSecret: 'b', surprise: 1 } })).status).toBe(400);
    expect((await api('PUT', '/federation-providers/corp', { token, body: { type: 'github', clientId: 'a', clientSecret: 'b' } })).status).toBe(409);
    const gh2 = await api('PUT', '/federation-providers/gh2', { token, body: { type: 'github', name: 'GitHub Enterprise', clientId: 'gh2', clientSecret: 'gh2-secret', authorizationUrl: `${ghUrl}/login/oauth/authorize`, tokenUrl: `${ghUrl}/login/oauth/access_token`, apiUrl: ghUrl } });
    expect(gh2.status, JSON.stringify(gh2.body)).toBe(200);
    expect(JSON.stringify(gh2.body)).not.toContain('gh2-secret');
    expect(await until((b) => b.includes('Continue with GitHub Enterprise'))).toBe(true);

    expect((await api('DELETE', '/federation-providers/staff', { token })).status).toBe(204);
    expect((await api('DELETE', '/federation-providers/staff', { token })).status).toBe(404);
    expect(await until((b) => !b.includes('Continue with Staff SSO'))).toBe(true);
    const staffer = (await userByEmail('staffer@example.test'))!;
    expect(staffer.federatedIdentities.map((f) => f.status)).toEqual(['revoked']);
    const audit = await srv.db.prisma.accountEvent.findMany({ where: { type: 'admin_action', userId: null } });
    expect(audit.map((e) => (e.metadata as { action: string }).action)).toEqual(expect.arrayContaining(['federation.provider.put', 'federation.provider.delete']));
  });
});
