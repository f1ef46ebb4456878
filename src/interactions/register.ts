// Hosted registration. Field errors are shown next to the field and the typed values are kept
// (never the password). A registration whose email already has an account looks exactly like a
// successful one to the visitor; the owner of the address gets a mail instead.
import type { Context } from 'koa';
import { HttpError } from '../errors.ts';
import { recordEvent } from '../services/audit.ts';
import { burnPasswordCheck } from '../services/passwords.ts';
import { passwordProblem } from '../services/password-policy.ts';
import { RateLimitedError, retryMessage } from '../services/rate-limit.ts';
import { createUser, emailSchema, UserExistsError, usernameSchema } from '../services/users.ts';
import { clientName, renderInteraction, requestInfo, type InteractionDeps, type InteractionDetails } from './context.ts';
import { sendVerification, setPending, showCheckEmail } from './email-check.ts';
import { formBody, passwordField, textField, type FieldErrors } from './form-fields.ts';

export function assertRegistrationOpen(deps: InteractionDeps): void {
  if (!deps.config.account.registrationEnabled) throw new HttpError(404, 'registration_disabled', 'Creating an account here is turned off. Ask your administrator for an account.');
}

export async function showRegister(ctx: Context, deps: InteractionDeps, details: InteractionDetails, values: Record<string, string> = {}, errors: FieldErrors = {}, status = 200, error?: string) {
  renderInteraction(ctx, deps, details, 'register', { clientName: await clientName(deps, details.params.client_id), values, errors, error }, status);
}

export async function submitRegister(ctx: Context, deps: InteractionDeps, details: InteractionDetails) {
  assertRegistrationOpen(deps);
  const body = formBody(ctx);
  const errors: FieldErrors = {};
  const values = {
    email: textField(body, 'email', errors, { max: 254, required: true, label: 'email address' }),
    username: textField(body, 'username', errors, { max: 50, required: true, label: 'username' }),
    firstName: textField(body, 'firstName', errors, { max: 100, label: 'first name' }),
    lastName: textField(body, 'lastName', errors, { max: 100, label: 'last name' }),
  };
  const password = passwordField(body, 'password', errors);
  if (!errors.email) {
    const r = emailSchema.safeParse(values.email);
    if (!r.success) errors.email = 'Enter a valid email address, like name@example.com.';
  }
  if (!errors.username) {
    const r = usernameSchema.safeParse(values.username);
    if (!r.success) errors.username = 'Use 3–50 letters, digits or underscores.';
  }
  if (!errors.password) {
    const problem = passwordProblem(password, { email: values.email, username: values.username });
    if (problem) errors.password = problem;
  }
  if (Object.keys(errors).length) return showRegister(ctx, deps, details, values, errors, 400);

  const info = requestInfo(ctx, deps.config);
  try {
    await deps.actionLimiter.consume('register_ip', info.ipHash);
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    ctx.set('Retry-After', String(err.retryAfterSeconds));
    return showRegister(ctx, deps, details, values, {}, 429, retryMessage(err));
  }

  const email = emailSchema.parse(values.email);
  const username = values.username.toLowerCase();
  if (await deps.prisma.user.findUnique({ where: { username }, select: { id: true } })) {
    // Usernames are public handles: saying one is taken is the only way to let a person pick another.
    return showRegister(ctx, deps, details, values, { username: 'This username is taken. Choose another.' }, 400);
  }
  const existing = await deps.prisma.user.findUnique({ where: { email }, select: { id: true } });
  if (existing) return collided(ctx, deps, details, existing.id, values.email);

  let user;
  try {
    user = await createUser(deps.prisma, {
      email,
      username,
      password,
      firstName: values.firstName || undefined,
      lastName: values.lastName || undefined,
      roles: deps.config.account.defaultRoles,
    });
  } catch (err) {
    if (!(err instanceof UserExistsError)) throw err;
    // Lost a race with a concurrent registration of the same email or username.
    if (err.field === 'username') return showRegister(ctx, deps, details, values, { username: 'This username is taken. Choose another.' }, 400);
    const owner = await deps.prisma.user.findUnique({ where: { email }, select: { id: true } });
    return collided(ctx, deps, details, owner?.id ?? null, values.email);
  }
  await recordEvent(deps.prisma, { userId: user.id, type: 'registered', metadata: { clientId: String(details.params.client_id ?? '') } });
  await sendVerification(ctx, deps, user.id, user.email);
  const pending = { accountId: user.id, email: values.email, amr: ['pwd'] };
  await setPending(deps, details.uid, pending);
  showCheckEmail(ctx, deps, details, pending);
}

async function collided(ctx: Context, deps: InteractionDeps, details: InteractionDetails, ownerId: string | null, typedEmail: string) {
  // Same work as a real registration (a password hash), so timing tells nothing either.
  await burnPasswordCheck('registration-collision');
  if (ownerId) {
    deps.mailer.sendInBackground('email-taken', emailSchema.parse(typedEmail), { link: `${deps.config.issuer}/account/forgot` });
    await recordEvent(deps.prisma, { userId: ownerId, type: 'registration_collision', metadata: {} });
  }
  const pending = { accountId: null, email: typedEmail, amr: ['pwd'] };
  await setPending(deps, details.uid, pending);
  showCheckEmail(ctx, deps, details, pending);
}
