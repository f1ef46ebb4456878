// Drives the hosted pages the way a browser would: authorization request, login form, consent
// form, back to the relying party's redirect URI.
import { expect } from 'vitest';
import { Agent, formAction, formField, type Hop } from './agent.ts';

export async function signIn(
  agent: Agent,
  issuer: string,
  authorizationUrl: string,
  credentials: { login: string; password: string } | null,
): Promise<Hop> {
  let hop = await agent.follow(authorizationUrl, issuer);
  for (let step = 0; step < 4; step++) {
    if (hop.status !== 200 || !hop.body.includes('<form')) return hop;
    if (hop.body.includes('/login"')) {
      if (!credentials) return hop;
      const res = await agent.submit(hop.url, formAction(hop.body, '/login'), {
        csrf: formField(hop.body, 'csrf'),
        login: credentials.login,
        password: credentials.password,
      });
      if (res.status !== 303) return res;
      hop = await agent.follow(res.location!, issuer);
    } else if (hop.body.includes('/confirm"')) {
      const res = await agent.submit(hop.url, formAction(hop.body, '/confirm'), { csrf: formField(hop.body, 'csrf') });
      expect(res.status).toBe(303);
      hop = await agent.follow(res.location!, issuer);
    } else {
      return hop;
    }
  }
  return hop;
}
