// Provider events worth a log line. Payloads carry ids only, never token values.
import type Provider from 'oidc-provider';
import type { Logger } from '../logger.ts';

export function attachProviderEvents(provider: Provider, logger: Logger): void {
  provider.on('server_error', (ctx, err) => {
    logger.error({ err, path: ctx.path, method: ctx.method }, 'provider server_error');
  });
  provider.on('grant.revoked', (_ctx, grantId) => logger.info({ grantId }, 'grant revoked'));
  provider.on('end_session.success', (ctx) => logger.info({ clientId: ctx.oidc.client?.clientId }, 'logout'));
}
