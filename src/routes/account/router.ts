// Hosted pages outside a sign-in: the account page, email verification links, password reset.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { InteractionDeps } from '../../interactions/context.ts';
import { showConnections, startLink, unlink } from './connections.ts';
import { messagePage } from './page.ts';
import { showForgot, showReset, submitForgot, submitReset } from './password-reset.ts';
import { changeEmail, changePassword, showAccount } from './profile.ts';
import {
  confirmSms,
  confirmTotp,
  newBackupCodes,
  passkeyRegistrationOptions,
  registerPasskey,
  removePasskey,
  removeSms,
  removeTotp,
  showSecurity,
  startSms,
  startTotp,
} from './security.ts';
import { verifyEmail } from './verify-email.ts';

export function accountRouter(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/account' });
  const forms = bodyParser({ enableTypes: ['form'], formLimit: '16kb', encoding: 'utf-8' });

  router.get('/', (ctx) => showAccount(ctx, deps));
  router.post('/password', forms, (ctx) => changePassword(ctx, deps));
  router.post('/email', forms, (ctx) => changeEmail(ctx, deps));
  router.get('/security', (ctx) => showSecurity(ctx, deps));
  router.post('/security/totp/start', forms, (ctx) => startTotp(ctx, deps));
  router.post('/security/totp/confirm', forms, (ctx) => confirmTotp(ctx, deps));
  router.post('/security/totp/remove', forms, (ctx) => removeTotp(ctx, deps));
  router.post('/security/backup-codes', forms, (ctx) => newBackupCodes(ctx, deps));
  router.post('/security/sms/start', forms, (ctx) => startSms(ctx, deps));
  router.post('/security/sms/confirm', forms, (ctx) => confirmSms(ctx, deps));
  router.post('/security/sms/remove', forms, (ctx) => removeSms(ctx, deps));
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '16kb', encoding: 'utf-8' });
  router.post('/security/passkeys/options', json, (ctx) => passkeyRegistrationOptions(ctx, deps));
  router.post('/security/passkeys', forms, (ctx) => registerPasskey(ctx, deps));
  router.post('/security/passkeys/remove', forms, (ctx) => removePasskey(ctx, deps));
  router.get('/connections', (ctx) => showConnections(ctx, deps));
  router.post('/connections/link', forms, (ctx) => startLink(ctx, deps));
  router.post('/connections/unlink', forms, (ctx) => unlink(ctx, deps));
  router.get('/callback', (ctx) => {
    if (typeof ctx.query.error === 'string') {
      return messagePage(ctx, deps, 'Not signed in', 'The sign-in was cancelled or did not complete.', 400, { href: '/account', text: 'Try again' });
    }
    ctx.redirect('/account');
  });
  router.get('/verify-email', (ctx) => verifyEmail(ctx, deps));
  router.get('/forgot', (ctx) => showForgot(ctx, deps));
  router.post('/forgot', forms, (ctx) => submitForgot(ctx, deps));
  router.get('/reset', (ctx) => showReset(ctx, deps));
  router.post('/reset', forms, (ctx) => submitReset(ctx, deps));
  return router;
}
