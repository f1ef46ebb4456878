// Brute-force protection on the hosted login: at most 5 password checks per account per window,
// even under 50 concurrent guesses, then a readable 429 page; unknown accounts behave the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/services/clients.ts';
import { createUser } from '../src/services/users.ts';
import { Agent, formAction, formField, type Hop } from './support/agent.ts';
import { DATABASE_URL, REDIS_URL } from './support/backends.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const REDIRECT = 'http://rp.lockout.test/cb';
const PASSWORD = 'the right password, long enough';
let srv: TestServer;

async function loginPage(): Promise<{ agent: Agent; page: Hop }> {
  const agent = new Agent();
  const url = `${srv.issuer}/auth?client_id=app&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`;
  const page = await agent.follow(url, srv.issuer);
  expect(page.status).toBe(200);
  return { agent, page };
}

async function submit({ agent, page }: { agent: Agent; page: Hop }, login: string, password: string) {
  return agent.submit(page.url, formAction(page.body, '/login'), { csrf: formField(page.body, 'csrf'), login, password });
}

describe(`login lockout (${DATABASE_URL ? 'PostgreSQL' : 'PGlite'} + ${REDIS_URL ? 'Redis' : 'in-process'} counters)`, () => {
  beforeAll(async () => {
    srv = await startTestServer('lockout');
    await createClient(srv.db.prisma, { id: 'app', secret: 'app-secret-0123456789abcdef', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scope: 'openid' });
    await createUser(srv.db.prisma, { email: 'victim@example.test', password: PASSWORD, emailVerified: true });
    await createUser(srv.db.prisma, { email: 'bystander@example.test', password: PASSWORD, emailVerified: true });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('checks at most 5 passwords out of 50 concurrent guesses, then locks with a readable 429', async () => {
    const pages = [];
    for (let i = 0; i < 50; i++) pages.push(await loginPage());
    const results = await Promise.all(pages.map((p, i) => submit(p, 'victim@example.test', `wrong guess number ${i}`)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(45);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);

    const victim = await srv.db.prisma.user.findUniqueOrThrow({ where: { email: 'victim@example.test' } });
    const checked = await srv.db.prisma.loginAttempt.count({ where: { userId: victim.id, reason: 'bad_password' } });
    expect(checked).toBeLessThanOrEqual(5);
    expect(await srv.db.prisma.loginAttempt.count({ where: { userId: victim.id, reason: 'locked_account' } })).toBeGreaterThanOrEqual(45);
    expect(await srv.db.prisma.accountEvent.count({ where: { userId: victim.id, type: 'login_locked' } })).toBeGreaterThan(0);

    // Even the right password is refused while locked, with a retry time and no redirect.
    const locked = await submit(await loginPage(), 'victim@example.test', PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body).toMatch(/Too many sign-in attempts\. Try again in \d+ minutes?\./);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('locks unknown accounts the same way, so a lock reveals nothing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await submit(await loginPage(), 'ghost@example.test', `guess ${i} for ghost`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
  });

  it('leaves other accounts alone, and a success clears the failures', async () => {
    for (let i = 0; i < 4; i++) expect((await submit(await loginPage(), 'bystander@example.test', `bad ${i} attempt`)).status).toBe(401);
    const ok = await submit(await loginPage(), 'bystander@example.test', PASSWORD);
    expect(ok.status).toBe(303);
    for (let i = 0; i < 4; i++) expect((await submit(await loginPage(), 'bystander@example.test', `bad again ${i}`)).status).toBe(401);
  });
});
