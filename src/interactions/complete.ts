// The end of every sign-in path (password, after email verification, after a second factor):
// the gates a user must pass before the provider gets a login result, in order, then the
// bookkeeping of a successful sign-in.
import type { Context } from 'koa';
import type { User } from '../generated/prisma/client.ts';
import { MFA_ACR, PWD_ACR, requestsMfa } from '../provider/acr.ts';
import { recordEvent, recordLoginAttempt } from '../services/audit.ts';
import { describeDevice, knownNetwork, rememberDevice, rememberedDevice, trustScore, TRUST_THRESHOLD, type DeviceRecord } from '../services/devices.ts';
import { enforceSessionLimit } from '../services/session-limit.ts';
import { startDeviceCheck } from './device-check.ts';
import { finishInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { clearPending, sendVerification, setPending, showCheckEmail } from './email-check.ts';
import { applyPendingFederation } from './federated-state.ts';
import { hasSecondFactor, showMfa, showMfaUnavailable } from './second-factor.ts';

export const SECOND_FACTOR_AMR = ['otp', 'sms', 'hwk', 'swk'];

export async function completeLogin(
  ctx: Context,
  deps: InteractionDeps,
  details: InteractionDetails,
  user: User,
  amr: string[],
  meta: Record<string, string | boolean> = {},
  opts: { deviceVerified?: boolean; remember?: boolean } = {},
): Promise<void> {
  const info = requestInfo(ctx, deps.config);
  if (deps.config.account.requireEmailVerification && !user.emailVerified) {
    // Right password, unverified address: wait on the "check your email" page with a fresh link.
    await recordLoginAttempt(deps.prisma, { userId: user.id, successful: false, reason: 'email_unverified', ...info });
    await sendVerification(ctx, deps, user.id, user.email);
    const pending = { accountId: user.id, email: user.email, amr, stage: 'verify-email' as const };
    await setPending(deps, details.uid, pending);
    return showCheckEmail(ctx, deps, details, pending);
  }

  const hasFactorInAmr = amr.some((m) => SECOND_FACTOR_AMR.includes(m));
  if (!hasFactorInAmr) {
    const enrolled = await hasSecondFactor(deps, user.id);
    if (enrolled || requestsMfa(details.params.acr_values)) {
      if (!enrolled) return showMfaUnavailable(ctx, deps, details);
      const pending = { accountId: user.id, email: user.email, amr, stage: 'mfa' as const };
      await setPending(deps, details.uid, pending);
      return showMfa(ctx, deps, details);
    }
  }

  // Device trust: a sign-in with neither a remembered device nor a known network is stepped up,
  // unless a second factor was just completed (that is the step-up) or this is the first sign-in.
  const { hmacKey } = deps.config;
  const remembered = rememberedDevice(ctx, hmacKey, user.id);
  const score = trustScore({
    rememberedDevice: Boolean(remembered),
    deviceAgeDays: remembered?.ageDays ?? 0,
    knownNetwork: await knownNetwork(deps.prisma, user.id, info.ipHash),
    secondFactor: hasFactorInAmr,
  });
  const firstSignIn = (await deps.prisma.loginAttempt.count({ where: { userId: user.id, successful: true } })) === 0;
  const lowTrust = score < TRUST_THRESHOLD && !firstSignIn;
  if (lowTrust && !hasFactorInAmr && !opts.deviceVerified) return startDeviceCheck(ctx, deps, details, user, amr);
  if (opts.remember) rememberDevice(ctx, hmacKey, user.id, deps.config.issuer.startsWith('https:'));
  if (lowTrust) {
    const d = describeDevice(info.userAgent);
    deps.mailer.sendInBackground('new-sign-in', user.email, {
      device: [d.browser, d.os].filter(Boolean).join(' on ') || 'an unknown browser',
      when: new Date().toISOString().slice(0, 16).replace('T', ' '),
      link: `${deps.config.issuer}/account/forgot`,
    });
  }
  const device: DeviceRecord = {
    trustScore: score,
    verification: hasFactorInAmr || opts.deviceVerified ? 'stepped_up' : lowTrust ? 'unverified' : 'verified',
  };
  // Attached to the session row after the provider saves it (see recordSessionDevice).
  await deps.store.set(`device:${details.uid}`, device, 600);

  // A federated sign-in's link (or profile refresh) is written only now, every gate passed.
  await applyPendingFederation(deps, details.uid, user.id);
  await clearPending(deps, details.uid);
  await enforceSessionLimit(deps.prisma, user.id, deps.config.account.maxSessions, details.session?.uid);
  await recordLoginAttempt(deps.prisma, { userId: user.id, successful: true, reason: amr.join('+'), ...info });
  await recordEvent(deps.prisma, {
    userId: user.id,
    type: 'login_succeeded',
    metadata: { method: amr.join(' '), clientId: String(details.params.client_id ?? ''), ...meta },
  });
  const acr = hasFactorInAmr ? MFA_ACR : PWD_ACR;
  await finishInteraction(ctx, deps, { login: { accountId: user.id, amr, acr } }, false);
}
