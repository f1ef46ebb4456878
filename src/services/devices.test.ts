import { describe, expect, it } from 'vitest';
import { describeDevice, trustScore, TRUST_THRESHOLD } from './devices.ts';

describe('trust score', () => {
  const none = { rememberedDevice: false, deviceAgeDays: 0, knownNetwork: false, secondFactor: false };
  it('is 0 for a new device on a new network without a second factor, below the threshold', () => {
    expect(trustScore(none)).toBe(0);
    expect(trustScore({ ...none, secondFactor: true })).toBeLessThan(TRUST_THRESHOLD);
  });
  it('trusts a remembered device on a known network, and an old remembered device more', () => {
    expect(trustScore({ ...none, rememberedDevice: true })).toBe(TRUST_THRESHOLD);
    expect(trustScore({ ...none, knownNetwork: true })).toBe(TRUST_THRESHOLD);
    expect(trustScore({ ...none, rememberedDevice: true, knownNetwork: true })).toBe(80);
    expect(trustScore({ ...none, rememberedDevice: true, knownNetwork: true, deviceAgeDays: 8 })).toBe(90);
    expect(trustScore({ rememberedDevice: true, deviceAgeDays: 30, knownNetwork: true, secondFactor: true })).toBe(100);
  });
  it('counts device age only for a remembered device', () => {
    expect(trustScore({ ...none, deviceAgeDays: 100 })).toBe(0);
  });
  it('a second factor on a known network scores high', () => {
    expect(trustScore({ ...none, knownNetwork: true, secondFactor: true })).toBeGreaterThanOrEqual(TRUST_THRESHOLD);
  });
});

describe('device description', () => {
  it('names browser and OS from the user agent, bounded', () => {
    expect(describeDevice('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36')).toEqual({ browser: 'Chrome 120', os: 'Linux' });
    expect(describeDevice(undefined)).toEqual({});
    expect(describeDevice('x'.repeat(2000)).browser ?? '').toHaveLength(0);
  });
});
