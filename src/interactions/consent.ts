// Consent. What the user allows is saved as a Grant (PostgreSQL), so the next authorization for
// the same scopes and claims goes through without asking again (remembered consent).
import type { Context } from 'koa';
import { clientName, finishInteraction, renderInteraction, type InteractionDeps, type InteractionDetails } from './context.ts';

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

export async function showConsent(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const d = (details.prompt.details ?? {}) as ConsentDetails;
  const scopes = [
    ...(d.missingOIDCScope ?? []),
    ...Object.entries(d.missingResourceScopes ?? {}).flatMap(([rs, list]) => list.map((s) => `${s} (${rs})`)),
  ];
  renderInteraction(ctx, deps, details, 'consent', {
    clientName: await clientName(deps, details.params.client_id),
    scopes: scopes.filter((s) => s !== 'openid' && s !== 'offline_access'),
    claims: d.missingOIDCClaims ?? [],
    offline: scopes.includes('offline_access'),
  });
}

export async function confirmConsent(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const provider = deps.getProvider();
  const { prompt, params, session, grantId } = details;
  if (!session) throw new Error('consent without a session');
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
  if (!grant) throw new Error('grant not found');
  const d = (prompt.details ?? {}) as ConsentDetails;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const savedId = await grant.save();
  await finishInteraction(ctx, deps, { consent: { grantId: savedId } }, true);
}
