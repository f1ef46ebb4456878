// GitHub is OAuth 2.0 without OpenID Connect: the profile comes from its REST API. The address is
// the primary one from /user/emails (the only place GitHub says whether an address is verified).
import { avatar, email, str, type UpstreamProfile } from './profile.ts';
import { UpstreamError } from './upstream-error.ts';

async function getJson(url: string, token: string, timeoutSeconds: number): Promise<unknown> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'idserver' },
    signal: AbortSignal.timeout(timeoutSeconds * 1000),
  });
  if (res.status >= 500) throw new UpstreamError('unavailable', `github api ${res.status}`);
  if (!res.ok) throw new UpstreamError('refused', `github api ${res.status}`);
  return res.json();
}

export async function githubProfile(apiUrl: string, token: string, timeoutSeconds: number): Promise<UpstreamProfile> {
  const user = (await getJson(`${apiUrl}/user`, token, timeoutSeconds)) as Record<string, unknown>;
  if (typeof user.id !== 'number' && typeof user.id !== 'string') throw new UpstreamError('refused', 'github user without id');
  const emails = await getJson(`${apiUrl}/user/emails`, token, timeoutSeconds);
  const list = Array.isArray(emails) ? (emails as { email?: unknown; primary?: unknown; verified?: unknown }[]) : [];
  const primary = list.find((e) => e.primary === true && typeof e.email === 'string');
  return {
    subject: String(user.id),
    email: email(primary?.email),
    emailVerified: primary?.verified === true,
    displayName: str(user.name, 255),
    login: str(user.login, 255),
    avatarUrl: avatar(user.avatar_url),
  };
}
