import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'idsrv-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({ DATA_DIR: dir });
    expect(c.port).toBe(3000);
    expect(c.issuer).toBe('http://localhost:3000');
    expect(c.ttl.accessToken).toBe(900);
    expect(c.ttl.refreshToken).toBe(30 * 24 * 3600);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
  });

  it('generates the embedded secrets once and reuses them', () => {
    const a = loadConfig({ DATA_DIR: dir });
    const b = loadConfig({ DATA_DIR: dir });
    expect(a.encryptionKey.equals(b.encryptionKey)).toBe(true);
    expect(a.cookieKeys).toEqual(b.cookieKeys);
    const file = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(file.encryptionKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ ACCESS_TOKEN_TTL: '-5' }, 'ACCESS_TOKEN_TTL'],
    [{ ENCRYPTION_KEY: 'too-short' }, 'ENCRYPTION_KEY'],
    [{ ISSUER: 'not a url' }, 'ISSUER'],
    [{ NODE_ENV: 'production' }, 'COOKIE_SECRET'],
  ])('names the bad variable: %o', (env, name) => {
    expect(() => loadConfig({ DATA_DIR: dir, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dir, ...env })).toThrow(name);
  });

  it('requires the secrets and the issuer in production', () => {
    const ok = loadConfig({
      NODE_ENV: 'production',
      ISSUER: 'https://id.example.com',
      COOKIE_SECRET: 'x'.repeat(40),
      ENCRYPTION_KEY: 'ab'.repeat(32),
      DATA_DIR: dir,
    });
    expect(ok.production).toBe(true);
    expect(() => loadConfig({ NODE_ENV: 'production', COOKIE_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'ab'.repeat(32), DATA_DIR: dir })).toThrow('ISSUER');
  });
});
