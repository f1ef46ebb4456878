// Helpers for admin API suites: tokens from the real token endpoint, JSON requests with a bearer.
import * as oidc from 'openid-client';
import type { TestServer } from './server.ts';

export interface ApiAnswer {
  status: number;
  type: string;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export async function clientToken(srv: TestServer, clientId: string, secret: string, scope: string): Promise<string> {
  const cfg = await oidc.discovery(new URL(srv.issuer), clientId, secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const t = await oidc.clientCredentialsGrant(cfg, { scope, resource: srv.config.admin.audience });
  return t.access_token;
}

export function adminApi(srv: TestServer) {
  return async function api(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string; contentType?: string } = {},
  ): Promise<ApiAnswer> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const res = await fetch(`${srv.issuer}/admin/v1${path}`, { method, headers, body: payload });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: kept as text for the assertion message */
    }
    return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, body };
  };
}
