// The password step. Unknown user and wrong password give the same answer after the same work.
import type { Context } from 'koa';
import { z } from 'zod';
import { recordEvent, recordLoginAttempt } from '../services/audit.ts';
import { RateLimitedError } from '../services/rate-limit.ts';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../services/passwords.ts';
import { findUserByLogin, recordSuccessfulLogin } from '../services/users.ts';
import { enabledProviders } from '../services/federation/providers.ts';
import { clientName, renderInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { completeLogin } from './complete.ts';

const GENERIC_ERROR = 'Incorrect email, username or password.';

const loginForm = z.object({
  login: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
});

export async function showLogin(ctx: Context, deps: InteractionDeps, details: InteractionDetails, extra: Record<string, unknown> = {}, status = 200) {
  renderInteraction(
    ctx,
    deps,
    details,
    'login',
    {
      clientName: await clientName(deps, details.params.client_id),
      registrationEnabled: deps.config.account.registrationEnabled,
      federation: enabledProviders(deps.config).map(({ id, name }) => ({ id, name })),
      ...extra,
    },
    status,
  );
}

export async function submitLogin(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
  const parsed = loginForm.safeParse(body);
  const typedLogin = typeof body.login === 'string' ? body.login.slice(0, 254) : '';
  if (!parsed.success) {
    return showLogin(ctx, deps, details, { error: 'Enter your email or username and your password.', login: typedLogin }, 400);
  }
  const { login, password } = parsed.data;
  const { prisma, config } = deps;
  const info = requestInfo(ctx, config);

  try {
    await deps.loginLimiter.consume(login, info.ipHash);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    const known = await findUserByLogin(prisma, login);
    await recordLoginAttempt(prisma, { userId: known?.id ?? null, successful: false, reason: `locked_${err.scope}`, ...info });
    if (known) await recordEvent(prisma, { userId: known.id, type: 'login_locked', metadata: { scope: err.scope } });
    const minutes = Math.max(1, Math.ceil(err.retryAfterSeconds / 60));
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return showLogin(
      ctx,
      deps,
      details,
      { error: `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, login: typedLogin },
      429,
    );
  }

  const user = await findUserByLogin(prisma, login);
  if (!user || !user.passwordHash) {
    await burnPasswordCheck(password);
    await recordLoginAttempt(prisma, { userId: user?.id ?? null, successful: false, reason: user ? 'no_password' : 'unknown_user', ...info });
    return showLogin(ctx, deps, details, { error: GENERIC_ERROR, login: typedLogin }, 401);
  }

  const result = await verifyPassword(user.passwordHash, password);
  if (!result.ok) {
    await recordLoginAttempt(prisma, { userId: user.id, successful: false, reason: 'bad_password', ...info });
    await recordEvent(prisma, { userId: user.id, type: 'login_failed', metadata: { reason: 'bad_password' } });
    return showLogin(ctx, deps, details, { error: GENERIC_ERROR, login: typedLogin }, 401);
  }
  if (user.status !== 'active') {
    // Only someone who knows the password learns that the account is not active.
    await recordLoginAttempt(prisma, { userId: user.id, successful: false, reason: `status_${user.status}`, ...info });
    await recordEvent(prisma, { userId: user.id, type: 'login_failed', metadata: { reason: `status_${user.status}` } });
    return showLogin(ctx, deps, details, { error: 'This account cannot sign in. Contact your administrator.', login: typedLogin }, 403);
  }

  // bcrypt (imported) or outdated argon2 parameters: upgrade the stored hash now that we know the password.
  const newHash = result.needsRehash ? await hashPassword(password) : undefined;
  await recordSuccessfulLogin(prisma, user.id, newHash);
  await deps.loginLimiter.reset(login);

  await completeLogin(ctx, deps, details, user, ['pwd'], { rehashed: Boolean(newHash) });
}
