// Authentication context classes we issue, and the interaction policy that enforces them: a
// relying party asking for MFA_ACR in acr_values gets a sign-in that includes a second factor,
// also when the browser already has a password-only session (step-up), or no token at all.
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

export const PWD_ACR = 'urn:idserver:acr:pwd';
export const MFA_ACR = 'urn:idserver:acr:mfa';
export const ACR_VALUES = [PWD_ACR, MFA_ACR];

export function requestsMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(MFA_ACR);
}

export function loginPolicy() {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy.get('login')!.checks.add(
    new Check('mfa_required', 'the client requires a second factor', (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      if (requestsMfa(oidc.params?.acr_values) && oidc.session?.acr !== MFA_ACR) return Check.REQUEST_PROMPT;
      return Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}
