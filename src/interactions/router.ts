// Routes of the hosted sign-in flow. oidc-provider redirects the browser here with an interaction
// uid; each step finishes by handing a result back to the provider.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { errors } from 'oidc-provider';
import { HttpError } from '../errors.ts';
import { confirmConsent, showConsent } from './consent.ts';
import { finishInteraction, type InteractionDeps, type InteractionDetails } from './context.ts';
import { federatedRoutes } from './federated.ts';
import { verifyCsrf } from './csrf.ts';
import { continueAfterVerification, getPending, resendVerification, showCheckEmail, type PendingLogin } from './email-check.ts';
import { showDeviceCode, submitDeviceCode } from './device-check.ts';
import { showLogin, submitLogin } from './login.ts';
import { passkeyOptions, passkeyVerify } from './passkey.ts';
import { sendLoginSms, showMfa, startStepUp, submitMfa } from './second-factor.ts';
import { assertRegistrationOpen, showRegister, submitRegister } from './register.ts';

const UID = /^[A-Za-z0-9_-]{1,64}$/;

export function interactionRouter(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb', encoding: 'utf-8' });

  async function load(ctx: Context): Promise<InteractionDetails> {
    const uid = ctx.params.uid;
    if (!UID.test(uid)) throw new HttpError(400, 'invalid_request', 'This sign-in link is not valid.');
    let details: InteractionDetails;
    try {
      details = await deps.getProvider().interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      if (err instanceof errors.SessionNotFound) {
        throw new HttpError(400, 'interaction_expired', 'Your sign-in session has expired or was not started in this browser. Go back to the application and sign in again.');
      }
      throw err;
    }
    if (details.uid !== uid) throw new HttpError(400, 'interaction_mismatch', 'This sign-in page belongs to another sign-in attempt. Go back to the application and try again.');
    return details;
  }

  async function withForm(ctx: Context, next: Next) {
    const details = await load(ctx);
    const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    verifyCsrf(ctx, deps.config.hmacKey, details.uid, body.csrf);
    ctx.state.details = details;
    await next();
  }

  router.get('/', async (ctx) => {
    const details = await load(ctx);
    if (details.prompt.name === 'login') {
      const pending = await getPending(deps, details.uid);
      if (pending?.stage === 'mfa') return showMfa(ctx, deps, details);
      if (pending?.stage === 'device') return showDeviceCode(ctx, deps, details);
      if (pending) return showCheckEmail(ctx, deps, details, pending);
      if (details.prompt.reasons.includes('mfa_required') && details.session?.accountId) return startStepUp(ctx, deps, details);
      return showLogin(ctx, deps, details);
    }
    if (details.prompt.name === 'consent') return showConsent(ctx, deps, details);
    throw new HttpError(400, 'unsupported_prompt', 'This sign-in step is not supported.');
  });

  router.post('/login', forms, withForm, async (ctx) => {
    const details = ctx.state.details as InteractionDetails;
    if (details.prompt.name !== 'login') throw new HttpError(400, 'wrong_step', 'You are already signed in for this request. Go back and try again.');
    await submitLogin(ctx, deps, details);
  });

  const loginStep = (details: InteractionDetails) => {
    if (details.prompt.name !== 'login') throw new HttpError(400, 'wrong_step', 'You are already signed in for this request. Go back and try again.');
  };

  federatedRoutes(router, deps, { load, withForm, forms, loginStep });

  router.get('/register', async (ctx) => {
    assertRegistrationOpen(deps);
    const details = await load(ctx);
    loginStep(details);
    await showRegister(ctx, deps, details);
  });

  router.post('/register', forms, withForm, async (ctx) => {
    const details = ctx.state.details as InteractionDetails;
    loginStep(details);
    await submitRegister(ctx, deps, details);
  });

  // A step that continues a waiting sign-in: `stage` is what the sign-in must be waiting for
  // (undefined: any stage, for the email check where older states carry none).
  type WaitingHandler = (ctx: Context, deps: InteractionDeps, details: InteractionDetails, pending: PendingLogin) => Promise<void>;
  const waitingStep = (fn: WaitingHandler, stage?: PendingLogin['stage'], what = 'a code') => async (ctx: Context) => {
    const details = ctx.state.details as InteractionDetails;
    loginStep(details);
    const pending = await getPending(deps, details.uid);
    if (!pending || (stage && pending.stage !== stage)) {
      throw new HttpError(400, 'wrong_step', `There is no sign-in waiting for ${what}. Go back and sign in again.`);
    }
    await fn(ctx, deps, details, pending);
  };
  router.post('/resend', forms, withForm, waitingStep(resendVerification, undefined, 'an email confirmation'));
  router.post('/continue', forms, withForm, waitingStep(continueAfterVerification, undefined, 'an email confirmation'));
  router.post('/mfa', forms, withForm, waitingStep(submitMfa, 'mfa'));
  router.post('/sms', forms, withForm, waitingStep(sendLoginSms, 'mfa'));
  router.post('/device', forms, withForm, waitingStep(submitDeviceCode, 'device'));
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '16kb', encoding: 'utf-8' });
  router.post('/passkey/options', json, withForm, async (ctx) => {
    loginStep(ctx.state.details as InteractionDetails);
    await passkeyOptions(ctx, deps, ctx.state.details as InteractionDetails);
  });
  router.post('/passkey', forms, withForm, async (ctx) => {
    loginStep(ctx.state.details as InteractionDetails);
    await passkeyVerify(ctx, deps, ctx.state.details as InteractionDetails);
  });

  router.post('/confirm', forms, withForm, async (ctx) => {
    const details = ctx.state.details as InteractionDetails;
    if (details.prompt.name !== 'consent') throw new HttpError(400, 'wrong_step', 'There is nothing to confirm for this request.');
    await confirmConsent(ctx, deps, details);
  });

  router.post('/abort', forms, withForm, async (ctx) => {
    await finishInteraction(ctx, deps, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  });

  return router;
}
