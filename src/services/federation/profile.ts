// The one profile shape every upstream type is reduced to, and the checks on its fields: upstream
// data is input like any other (bounded strings, a well-formed address, http(s) avatar URLs).
import { emailSchema } from '../users.ts';

export interface UpstreamProfile {
  /** The upstream's stable user id (OIDC `sub`, GitHub numeric id). */
  subject: string;
  /** Lowercased; absent when missing or malformed. */
  email?: string;
  /** True only when the upstream says so explicitly. */
  emailVerified: boolean;
  displayName?: string;
  givenName?: string;
  familyName?: string;
  login?: string;
  avatarUrl?: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

export function str(v: unknown, max: number): string | undefined {
  if (typeof v !== 'string') return undefined;
  const clean = [...v.replace(CONTROL, '').trim().normalize('NFC')].slice(0, max).join('');
  return clean || undefined;
}

export function email(v: unknown): string | undefined {
  const r = emailSchema.safeParse(v);
  return r.success ? r.data : undefined;
}

export const avatar = (v: unknown) => (typeof v === 'string' && /^https?:\/\//.test(v) ? str(v, 2048) : undefined);
