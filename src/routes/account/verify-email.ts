// The link in a verification mail. Marks the address verified, or, during an email change,
// switches the account to the new address (only now, after it is proven).
import type { Context } from 'koa';
import type { InteractionDeps } from '../../interactions/context.ts';
import { recordEvent } from '../../services/audit.ts';
import { findVerificationToken, useVerificationToken } from '../../services/one-time-tokens.ts';
import { messagePage } from './page.ts';

const INVALID = 'This confirmation link is invalid, has expired or was already used. Sign in to get a new one.';

export async function verifyEmail(ctx: Context, deps: InteractionDeps) {
  const row = await findVerificationToken(deps.prisma, ctx.query.token);
  if (!row) return messagePage(ctx, deps, 'Link not valid', INVALID, 400);
  type Outcome = 'verified' | 'changed' | 'taken' | 'used';
  let outcome: Outcome;
  try {
    outcome = await deps.prisma.$transaction(async (tx): Promise<Outcome> => {
      if (!(await useVerificationToken(tx, row.id))) return 'used';
      const user = await tx.user.findUnique({ where: { id: row.userId }, select: { email: true } });
      if (!user) return 'used';
      if (user.email === row.email) {
        await tx.user.update({ where: { id: row.userId }, data: { emailVerified: true } });
        return 'verified';
      }
      const other = await tx.user.findUnique({ where: { email: row.email }, select: { id: true } });
      if (other) return 'taken';
      await tx.user.update({ where: { id: row.userId }, data: { email: row.email, emailVerified: true } });
      return 'changed';
    });
  } catch (err) {
    // A concurrent change claimed the address between our check and the update.
    if ((err as { code?: string }).code !== 'P2002') throw err;
    outcome = 'taken';
  }
  if (outcome === 'used') return messagePage(ctx, deps, 'Link not valid', INVALID, 400);
  if (outcome === 'taken') return messagePage(ctx, deps, 'Address not available', 'This email address now belongs to another account, so your address was not changed.', 409);
  await recordEvent(deps.prisma, { userId: row.userId, type: outcome === 'changed' ? 'email_change_completed' : 'email_verified', metadata: {} });
  messagePage(
    ctx,
    deps,
    'Email address confirmed',
    outcome === 'changed'
      ? 'Your account now uses this email address.'
      : 'Thank you. If you were signing in, return to that tab and press Continue.',
  );
}
