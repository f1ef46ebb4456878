// The admin CLI against a running server, as an operator uses it: bootstrap on a fresh install
// yields a client whose token opens the admin API; roles and permissions from the command line;
// `--help` on every command.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as admin from '../src/cli/admin.ts';
import * as client from '../src/cli/client.ts';
import * as keys from '../src/cli/keys.ts';
import * as permission from '../src/cli/permission.ts';
import * as resource from '../src/cli/resource.ts';
import * as role from '../src/cli/role.ts';
import * as user from '../src/cli/user.ts';
import { adminApi, clientToken } from './support/admin.ts';
import { DATABASE_URL } from './support/backends.ts';
import { cli } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe(`admin CLI while the server runs (${DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite through the server socket'})`, () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer('admincli', { embeddedOnDisk: true });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('bootstraps the first administrator and an admin client whose token opens the admin API', async () => {
    const r = await cli(srv, ['admin', 'bootstrap', '--email', 'Root@Example.test']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json as { user: { id: string; roles: string[] }; password: string; client: { clientId: string; clientSecret: string; scope: string } };
    expect(out.user.roles).toEqual(['admin', 'user']);
    expect(out.password.length).toBeGreaterThanOrEqual(20);
    expect(out.client.clientId).toBe('admin');
    const token = await clientToken(srv, 'admin', out.client.clientSecret, out.client.scope);
    const users = await adminApi(srv)('GET', '/users?role=admin', { token });
    expect(users.status, JSON.stringify(users.body)).toBe(200);
    expect(users.body.items.map((u: { email: string }) => u.email)).toEqual(['root@example.test']);
    // Neither secret is stored readably where the API would show it.
    const stored = await srv.db.prisma.user.findUniqueOrThrow({ where: { id: out.user.id } });
    expect(stored.passwordHash).not.toContain(out.password);
    expect(JSON.stringify((await adminApi(srv)('GET', '/clients/admin', { token })).body)).not.toContain(out.client.clientSecret);

    const again = await cli(srv, ['admin', 'bootstrap', '--email', 'other@example.test']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    expect(await srv.db.prisma.user.count({ where: { email: 'other@example.test' } })).toBe(0);
  });

  it('manages roles and permissions, refuses to delete a role in use, records the CLI as actor', async () => {
    expect((await cli(srv, ['permission', 'create', '--name', 'write:post'])).code).toBe(0);
    const created = await cli(srv, ['role', 'create', '--name', 'customer', '--permission', 'write:post']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({ name: 'customer', permissions: ['write:post'] });
    const u = await cli(srv, ['user', 'create', '--email', 'cora@example.test', '--password', 'a long enough password', '--role', 'customer']);
    expect(u.code, u.stderr).toBe(0);
    const del = await cli(srv, ['role', 'delete', '--name', 'customer']);
    expect(del.code).toBe(2);
    expect(del.stderr).toMatch(/assigned to 1 user/);
    expect((await cli(srv, ['user', 'remove-role', '--user', 'cora@example.test', '--role', 'customer'])).json).toMatchObject({ roles: [] });
    expect((await cli(srv, ['role', 'delete', '--name', 'customer'])).code).toBe(0);
    expect((await cli(srv, ['role', 'create', '--name', 'Bad Name'])).code).toBe(2);
    const events = await cli(srv, ['user', 'events', '--user', 'cora@example.test']);
    const items = (events.json as { items: { type: string; metadata: Record<string, string> }[] }).items;
    expect(items.find((e) => e.type === 'roles_changed')?.metadata).toMatchObject({ action: 'user.role.remove', actorType: 'cli', role: 'customer' });
  });

  it('answers --help on every command without touching storage', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      for (const g of [admin, user, role, permission, client, resource, keys]) {
        for (const sub of g.commands) {
          out.mockClear();
          await g.run(sub, ['--help']);
          expect(String(out.mock.calls[0]?.[0]), `${sub} --help`).toContain(sub);
        }
      }
    } finally {
      out.mockRestore();
    }
  });
});
