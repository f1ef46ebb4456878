// Rules for a new password (NIST SP 800-63B 3.1.1.2, OWASP ASVS 2.1): 12 to 128 characters, no
// composition rules, not a common or breached password, not the account's own email or username.
// The list is zxcvbn's ranked common-password dictionary (about 49,000 entries) from
// @zxcvbn-ts/language-common, loaded once.
import { dictionary } from '@zxcvbn-ts/language-common';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

let common: Set<string> | undefined;

function commonPasswords(): Set<string> {
  common ??= new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
  return common;
}

/** How many entries the list holds (the README and tests quote it). */
export function commonPasswordCount(): number {
  return commonPasswords().size;
}

/** Returns a message for the password field, or undefined when the password is acceptable. */
export function passwordProblem(password: string, identity: { email?: string | null; username?: string | null } = {}): string | undefined {
  // Length in code points, so an emoji counts as one character as a person would count it.
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) return 'This password is too common. Choose one that is harder to guess.';
  const email = identity.email?.toLowerCase();
  const username = identity.username?.toLowerCase();
  if ((email && (lower === email || lower === email.split('@')[0])) || (username && lower === username)) {
    return 'Your password must not be your email address or username.';
  }
  return undefined;
}
