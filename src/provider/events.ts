// Provider events worth a log line. Payloads carry ids only, never token values.
import type Provider from 'oidc-provider';
import type { Logger } from '../logger.ts';

export function attachProviderEvents(provider: Provider, logger: Logger, onLogout?: (accountId: string, clientId?: string) => Promise<void>): void {
  provider.on('server_error', (ctx, err) => {
    logger.error({ err, path: ctx.path, method: ctx.method }, 'provider server_error');
  });
  provider.on('grant.revoked', (_ctx, grantId) => logger.info({ grantId }, 'grant revoked'));
  provider.on('end_session.success', (ctx) => {
    const clientId = ctx.oidc.client?.clientId;
    logger.info({ clientId }, 'logout');
    // The session object is destroyed in the store but still knows whose it was.
    const accountId = ctx.oidc.session?.accountId;
    if (accountId && onLogout) onLogout(accountId, clientId).catch((err: Error) => logger.warn({ err: err.message }, 'recording logout failed'));
  });
}
