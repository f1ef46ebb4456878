// A real browser (Debian's chromium via playwright-core) signs in on the hosted pages, with the
// page's CSP, cookies and redirects all in force.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.ts';
import { createUser } from '../src/services/users.ts';
import { freePort, startTestServer, type TestServer } from './support/server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
// In CI a missing browser is a failure, not a skip.
const skip = !haveChromium && process.env.CI !== 'true';

describe.skipIf(skip)(`hosted login in a real browser${skip ? ' (SKIPPED: chromium not installed)' : ''}`, () => {
  let srv: TestServer;
  let browser: Browser;
  let rpServer: Server;
  let rpUrl: string;
  let rp: oidc.Configuration;
  const callbacks: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`chromium not found at ${CHROMIUM}: install it (apt-get install chromium)`);
    srv = await startTestServer('browser');
    const port = await freePort();
    rpUrl = `http://127.0.0.1:${port}`;
    rpServer = createServer((req, res) => {
      callbacks.push(`${rpUrl}${req.url}`);
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>RP</title><h1 id="done">back at the relying party</h1>');
    });
    await new Promise<void>((r) => rpServer.listen(port, '127.0.0.1', r));
    await createUser(srv.db.prisma, { email: 'carol@example.test', password: 'a very long passphrase', emailVerified: true });
    await createClient(srv.db.prisma, {
      id: 'browser-app',
      secret: 'browser-app-secret-0123456789',
      redirectUris: [`${rpUrl}/cb`],
      grantTypes: ['authorization_code', 'refresh_token'],
      scope: 'openid email profile',
    });
    rp = await oidc.discovery(new URL(srv.issuer), 'browser-app', 'browser-app-secret-0123456789', undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (rpServer) await new Promise((r) => rpServer.close(r));
    await srv?.stop();
  });

  it('signs in through the login and consent pages and lands on the relying party with a code', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: `${rpUrl}/cb`,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'browser-state',
    });
    const page = await browser.newPage();
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(url.toString());
    await expect(page.getByRole('heading', { name: /Sign in/ })).toBeTruthy();
    await page.getByLabel('Email or username').fill('carol@example.test');
    await page.getByLabel('Password').fill('a very long passphrase');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${rpUrl}/cb**`);
    const landed = new URL(page.url());
    expect(landed.searchParams.get('state')).toBe('browser-state');
    const tokens = await oidc.authorizationCodeGrant(rp, landed, { pkceCodeVerifier: verifier, expectedState: 'browser-state' });
    expect(tokens.claims()!.email).toBe('carol@example.test');
    expect(cspViolations).toEqual([]);
    await page.close();
  });

  it('shows a readable error next to the form for a wrong password', async () => {
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: `${rpUrl}/cb`,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await browser.newPage();
    await page.goto(url.toString());
    await page.getByLabel('Email or username').fill('carol@example.test');
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert');
    expect(await alert.textContent()).toContain('Incorrect email, username or password');
    // The typed identifier is kept, the password is not.
    expect(await page.getByLabel('Email or username').inputValue()).toBe('carol@example.test');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    await page.close();
  });
});
