// The redirect URI registered at every upstream: <issuer>/federation/callback/<provider id>.
// A fixed URL cannot see the interaction cookie (scoped to /interaction/<uid>), so the started
// request is found by its `state` in the short-lived store, used once, and the browser goes on to
// /interaction/<uid>/federated (sign-in) or back to the account page (linking). An unknown,
// replayed or foreign state, an upstream error and a failed check all end on a readable page with
// nothing written.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { InteractionDeps } from '../../interactions/context.ts';
import { federationErrorPage, setFederation, takeStartedFlow, upstreamMessage } from '../../interactions/federated-state.ts';
import { sealUpstreamToken } from '../../services/federation/identities.ts';
import { callbackUrl, findProvider } from '../../services/federation/providers.ts';
import { finishAuthorization, UpstreamError } from '../../services/federation/upstream.ts';
import { linkFromAccount, NOT_CONNECTED } from '../account/connections.ts';

const INVALID = 'This sign-in answer is not valid, has expired or was already used, so you were not signed in. Go back to the application and sign in again.';

async function callback(ctx: Context, deps: InteractionDeps) {
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
  const flow = await takeStartedFlow(deps, state);
  if (!flow || flow.provider !== ctx.params.provider) return federationErrorPage(ctx, deps, 400, INVALID);
  const heading = flow.purpose === 'link' ? NOT_CONNECTED : undefined;
  const back = flow.purpose === 'login' ? { href: `/interaction/${flow.uid}`, text: 'Sign in another way' } : { href: '/account/connections', text: 'Back to your connections' };
  const p = findProvider(deps.config, flow.provider);
  if (!p) return federationErrorPage(ctx, deps, 400, 'This sign-in option is no longer available.', back, heading);
  if (flow.purpose === 'link') {
    // The person who asked to link must still be the one signed in here.
    const session = await deps.getProvider().Session.get(ctx as never);
    if (!session.accountId || session.accountId !== flow.userId) {
      return federationErrorPage(ctx, deps, 400, `You are no longer signed in as the account that asked to connect ${p.name}. Nothing was changed.`, back, heading);
    }
  }
  // Our registered redirect URI (not the Host header) plus the upstream's answer, for the code exchange.
  const current = new URL(callbackUrl(deps.config, p.id));
  current.search = ctx.querystring;
  let result;
  try {
    result = await finishAuthorization(p, current, flow.checks);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    deps.logger.warn({ provider: p.id, kind: err.kind, detail: err.detail }, 'federated sign-in failed');
    const { status, message } = upstreamMessage(p.name, err);
    return federationErrorPage(ctx, deps, status, message, back, heading);
  }
  const accessTokenEnc = sealUpstreamToken(deps.config.encryptionKey, p.id, result.profile.subject, result.accessToken);
  if (flow.purpose === 'link') return linkFromAccount(ctx, deps, flow.userId!, p, result.profile, accessTokenEnc);
  await setFederation(deps, flow.uid!, { provider: p.id, profile: result.profile, accessTokenEnc });
  ctx.status = 303;
  ctx.redirect(`/interaction/${flow.uid}/federated`);
}

export function federationRouter(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/federation' });
  router.get('/callback/:provider', (ctx) => callback(ctx, deps));
  return router;
}
