// Retention: expired provider state, used or expired one-time tokens, and old login attempts.
// Run by `cli purge` and periodically in process; every statement is idempotent, so several
// instances running it at once do no harm.
import type { Config } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';

export interface PurgeResult {
  sessions: number;
  grants: number;
  refreshTokens: number;
  verificationTokens: number;
  resetTokens: number;
  loginAttempts: number;
  exportRequests: number;
}

export async function purgeExpired(prisma: PrismaClient, retentionDays: number, now = new Date()): Promise<PurgeResult> {
  const old = new Date(now.getTime() - retentionDays * 24 * 3600 * 1000);
  const usedOrExpired = { OR: [{ usedAt: { not: null } }, { expiresAt: { lt: now } }] };
  const [sessions, grants, refreshTokens, verificationTokens, resetTokens, loginAttempts, exportRequests] = await Promise.all([
    prisma.session.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.grant.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.refreshToken.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.emailVerificationToken.deleteMany({ where: usedOrExpired }),
    prisma.passwordResetToken.deleteMany({ where: usedOrExpired }),
    prisma.loginAttempt.deleteMany({ where: { createdAt: { lt: old } } }),
    prisma.exportRequest.deleteMany({ where: { expiresAt: { lt: now } } }),
  ]);
  return {
    sessions: sessions.count,
    grants: grants.count,
    refreshTokens: refreshTokens.count,
    verificationTokens: verificationTokens.count,
    resetTokens: resetTokens.count,
    loginAttempts: loginAttempts.count,
    exportRequests: exportRequests.count,
  };
}

/** Runs the purge every PURGE_INTERVAL seconds (first run one interval after start). */
export function startPurgeJob(prisma: PrismaClient, config: Config, logger: Logger): { stop(): void } {
  const every = config.account.purgeIntervalSeconds;
  if (every <= 0) return { stop() {} };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purgeExpired(prisma, config.account.retentionDays)
      .then((r) => logger.info({ purged: r }, 'purge finished'))
      .catch((err: Error) => logger.warn({ err: err.message }, 'purge failed; will retry at the next interval'))
      .finally(() => {
        running = false;
      });
  }, every * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
