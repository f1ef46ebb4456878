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

/** Posts a form on `page` (the form whose action contains `path`) with its CSRF field. */
export function postForm(agent: Agent, page: Hop, path: string, fields: Record<string, string>): Promise<Hop> {
  return agent.submit(page.url, formAction(page.body, path), { csrf: formField(page.body, 'csrf'), ...fields });
}

/**
 * Follows redirects on the issuer and confirms consent when asked, until a redirect off the issuer
 * (the relying party) or a page that is not consent.
 */
export async function proceed(agent: Agent, hop: Hop, issuer: string, maxHops = 6): Promise<Hop> {
  for (let i = 0; i < maxHops; i++) {
    if (hop.status === 303 || hop.status === 302) {
      if (!hop.location!.startsWith(issuer)) return hop;
      hop = await agent.follow(hop.location!, issuer);
      continue;
    }
    if (hop.status === 200 && hop.body.includes('/confirm"')) {
      hop = await postForm(agent, hop, '/confirm', {});
      continue;
    }
    return hop;
  }
  return hop;
}
