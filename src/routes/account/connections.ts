// Connected sign-in providers on the account page: list, connect another (only while signed in,
// through the same upstream checks as a sign-in), disconnect — never the last way to sign in.
import type { Context } from 'koa';
import type { UpstreamProvider } from '../../config.ts';
import type { InteractionDeps } from '../../interactions/context.ts';
import { federationErrorPage } from '../../interactions/federated-state.ts';
import { redirectUpstream } from '../../interactions/federated.ts';
import { formBody } from '../../interactions/form-fields.ts';
import type { User } from '../../generated/prisma/client.ts';
import { recordEvent } from '../../services/audit.ts';
import { findIdentity, IdentityTakenError, linkIdentity, listIdentities, otherWaysToSignIn, refreshIdentity, unlinkIdentity } from '../../services/federation/identities.ts';
import { enabledProviders, findProvider, providerName } from '../../services/federation/providers.ts';
import type { UpstreamProfile } from '../../services/federation/upstream.ts';
import { checkCsrf, renderPage } from './page.ts';
import { signedInUser } from './session.ts';

export const NOT_CONNECTED = 'Nothing was connected';

const NOTICES: Record<string, string> = {
  linked: 'Connected. You can now sign in with it.',
  refreshed: 'This account was already connected; its details were refreshed.',
};

async function show(ctx: Context, deps: InteractionDeps, user: User, data: Record<string, unknown> = {}, status = 200) {
  const enabled = enabledProviders(deps.config);
  const rows = await listIdentities(deps.prisma, user.id);
  const connections = await Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      name: providerName(deps.config, r.provider),
      label: r.displayName ?? r.upstreamLogin ?? '',
      status: r.status,
      lastSyncAt: r.lastSyncAt?.toISOString().slice(0, 16).replace('T', ' '),
      removable: (await otherWaysToSignIn(deps.prisma, user, r, enabled.map((p) => p.id))) > 0,
    })),
  );
  const available = enabled.filter((p) => !rows.some((r) => r.provider === p.id)).map(({ id, name }) => ({ id, name }));
  renderPage(ctx, deps, 'connections', `account:${user.id}`, { user, connections, available, ...data }, status);
}

export async function showConnections(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (!signed) return;
  const done = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
  await show(ctx, deps, signed.user, { notice: done });
}

export async function startLink(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (!signed) return;
  const body = formBody(ctx);
  checkCsrf(ctx, deps, `account:${signed.user.id}`, body);
  const p = findProvider(deps.config, body.provider);
  if (!p) return show(ctx, deps, signed.user, { error: 'This provider is not available.' }, 400);
  await redirectUpstream(ctx, deps, p, { purpose: 'link', userId: signed.user.id }, { href: '/account/connections', text: 'Back to your connections' }, NOT_CONNECTED);
}

/** The callback of a link started here: the upstream account is verified, the user still signed in. */
export async function linkFromAccount(ctx: Context, deps: InteractionDeps, userId: string, p: UpstreamProvider, profile: UpstreamProfile, accessTokenEnc: string) {
  const back = { href: '/account/connections', text: 'Back to your connections' };
  const taken = `This ${p.name} account is already connected to another account. Nothing was changed.`;
  const identity = await findIdentity(deps.prisma, p.id, profile.subject);
  if (identity && identity.userId !== userId) return federationErrorPage(ctx, deps, 409, taken, back, NOT_CONNECTED);
  if (identity) {
    await refreshIdentity(deps.prisma, identity.id, profile, accessTokenEnc);
    return ctx.redirect('/account/connections?done=refreshed');
  }
  if (await deps.prisma.federatedIdentity.findFirst({ where: { userId, provider: p.id }, select: { id: true } })) {
    return federationErrorPage(ctx, deps, 409, `Another ${p.name} account is connected already. Disconnect it first.`, back, NOT_CONNECTED);
  }
  try {
    await linkIdentity(deps.prisma, userId, p.id, profile, accessTokenEnc);
  } catch (err) {
    if (err instanceof IdentityTakenError) return federationErrorPage(ctx, deps, 409, taken, back, NOT_CONNECTED);
    throw err;
  }
  await recordEvent(deps.prisma, { userId, type: 'federated_linked', metadata: { provider: p.id } });
  ctx.redirect('/account/connections?done=linked');
}

export async function unlink(ctx: Context, deps: InteractionDeps) {
  const signed = await signedInUser(ctx, deps);
  if (!signed) return;
  const { user } = signed;
  const body = formBody(ctx);
  checkCsrf(ctx, deps, `account:${user.id}`, body);
  const id = typeof body.id === 'string' ? body.id : '';
  const row = (await listIdentities(deps.prisma, user.id)).find((r) => r.id === id);
  if (!row) return show(ctx, deps, user, { error: 'This connection does not exist any more.' }, 404);
  const ways = await otherWaysToSignIn(deps.prisma, user, row, enabledProviders(deps.config).map((p) => p.id));
  if (ways === 0) {
    return show(ctx, deps, user, { error: `This is your only way to sign in. Set a password (Forgot your password? on the sign-in page) or connect another provider before disconnecting ${providerName(deps.config, row.provider)}.` }, 400);
  }
  await unlinkIdentity(deps.prisma, user.id, row.id);
  await recordEvent(deps.prisma, { userId: user.id, type: 'federated_unlinked', metadata: { provider: row.provider } });
  await show(ctx, deps, user, { notice: `${providerName(deps.config, row.provider)} was disconnected.` });
}
