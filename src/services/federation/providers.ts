// Which upstream providers the login page offers, and the redirect URI each one must register.
import type { Config, UpstreamProvider } from '../../config.ts';

export function enabledProviders(config: Config): UpstreamProvider[] {
  return config.federation.providers.filter((p) => p.enabled);
}

export function findProvider(config: Config, id: unknown): UpstreamProvider | undefined {
  return typeof id === 'string' ? enabledProviders(config).find((p) => p.id === id) : undefined;
}

/** One fixed URL per provider: the interaction cookie is scoped to /interaction/<uid>, so the uid travels in server-side state. */
export function callbackUrl(config: Config, id: string): string {
  return `${config.issuer}/federation/callback/${id}`;
}

/** A provider's display name, also for rows of a provider that was removed from the configuration. */
export function providerName(config: Config, id: string): string {
  return config.federation.providers.find((p) => p.id === id)?.name ?? id;
}

/** Origins the login form may redirect to (CSP form-action covers the redirects after a POST). */
export function upstreamOrigins(config: Config): string[] {
  return enabledProviders(config).map((p) => new URL(p.github?.authorizationUrl ?? p.issuer!).origin);
}
