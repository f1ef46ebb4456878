// A minimal browser stand-in for HTTP-level tests: a cookie jar (name+path), manual redirects,
// and form helpers that read the real HTML the server renders.
export interface Hop {
  status: number;
  url: string;
  location?: string;
  body: string;
  headers: Headers;
}

interface Cookie {
  value: string;
  path: string;
}

export class Agent {
  jar = new Map<string, Cookie>();

  /** Headers sent with every request (a user agent, X-Forwarded-For behind a trusted proxy). */
  constructor(readonly headers: Record<string, string> = {}) {}

  cookieHeader(url: URL): string {
    return [...this.jar.entries()]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([k, c]) => `${k}=${c.value}`)
      .join('; ');
  }

  store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      const key = `${name}`;
      if (expired) this.jar.delete(key);
      else this.jar.set(key, { value, path });
    }
  }

  async request(url: string, init: RequestInit = {}): Promise<Hop> {
    const u = new URL(url);
    const headers = new Headers({ ...this.headers, ...Object.fromEntries(new Headers(init.headers)) });
    const cookie = this.cookieHeader(u);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    const res = await fetch(u, { ...init, headers, redirect: 'manual' });
    this.store(res);
    return {
      status: res.status,
      url,
      location: res.headers.get('location') ? new URL(res.headers.get('location')!, u).toString() : undefined,
      body: await res.text(),
      headers: res.headers,
    };
  }

  /** GETs and follows redirects on `origin` only; stops at the first off-origin redirect or page. */
  async follow(url: string, origin: string, max = 10): Promise<Hop> {
    let hop = await this.request(url);
    for (let i = 0; i < max && hop.location && hop.location.startsWith(origin); i++) {
      hop = await this.request(hop.location);
    }
    return hop;
  }

  async submit(pageUrl: string, action: string, fields: Record<string, string>): Promise<Hop> {
    return this.request(new URL(action, pageUrl).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

export function formField(html: string, name: string): string {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no field ${name} in page`);
  return m[1].replace(/&amp;/g, '&');
}

export function formAction(html: string, contains: string): string {
  const actions = [...html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
  const a = actions.find((x) => x.includes(contains));
  if (!a) throw new Error(`no form action containing ${contains}; have ${actions.join(', ')}`);
  return a;
}
