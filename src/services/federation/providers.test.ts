// FEDERATION_PROVIDERS: presets filled in, bad entries refused at start naming the variable.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { callbackUrl, enabledProviders, upstreamOrigins } from './providers.ts';

const base = { DATA_DIR: mkdtempSync(join(tmpdir(), 'fedcfg-')), ISSUER: 'https://id.example.com' };
const load = (providers: unknown) => loadConfig({ ...base, FEDERATION_PROVIDERS: JSON.stringify(providers) });

describe('FEDERATION_PROVIDERS', () => {
  it('fills in the Google and GitHub presets and keeps order', () => {
    const config = load([
      { id: 'google', type: 'google', clientId: 'g', clientSecret: 's' },
      { id: 'github', type: 'github', clientId: 'h', clientSecret: 's' },
      { id: 'corp', type: 'oidc', discoveryUrl: 'https://sso.corp.example/.well-known/openid-configuration', clientId: 'c', clientSecret: 's', enabled: false },
    ]);
    const [google, github, corp] = config.federation.providers;
    expect(google).toMatchObject({ name: 'Google', issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'] });
    expect(github).toMatchObject({ name: 'GitHub', scopes: ['read:user', 'user:email'], github: { apiUrl: 'https://api.github.com' } });
    expect(corp).toMatchObject({ name: 'corp', issuer: 'https://sso.corp.example', enabled: false });
    expect(enabledProviders(config).map((p) => p.id)).toEqual(['google', 'github']);
    expect(upstreamOrigins(config)).toEqual(['https://accounts.google.com', 'https://github.com']);
    expect(callbackUrl(config, 'google')).toBe('https://id.example.com/federation/callback/google');
  });

  it('is empty when unset', () => {
    expect(loadConfig(base).federation.providers).toEqual([]);
  });

  it.each([
    ['not JSON', '{'],
    ['an oidc provider without issuer', [{ id: 'x', type: 'oidc', clientId: 'c', clientSecret: 's' }]],
    ['plain http off loopback', [{ id: 'x', type: 'oidc', issuer: 'http://sso.example', clientId: 'c', clientSecret: 's' }]],
    ['duplicate ids', [{ id: 'g', type: 'google', clientId: 'c', clientSecret: 's' }, { id: 'g', type: 'google', clientId: 'c', clientSecret: 's' }]],
    ['an unknown field', [{ id: 'g', type: 'google', clientId: 'c', clientSecret: 's', secret: 'typo' }]],
    ['a bad id', [{ id: 'Google!', type: 'google', clientId: 'c', clientSecret: 's' }]],
  ])('refuses %s', (_label, value) => {
    const raw = typeof value === 'string' ? value : JSON.stringify(value);
    expect(() => loadConfig({ ...base, FEDERATION_PROVIDERS: raw })).toThrow(/FEDERATION_PROVIDERS/);
  });
});
