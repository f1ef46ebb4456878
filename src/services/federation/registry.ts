// Operator-managed upstream providers: stored in `federation_providers` (client secret encrypted),
// validated with the same schema as FEDERATION_PROVIDERS, and merged into the live list
// `config.federation.providers` on every node (reloaded through the change feed). Ids given by
// FEDERATION_PROVIDERS belong to the environment and cannot be added or removed here.
import { upstreamProviders, upstreamSchema, type Config, type UpstreamInput, type UpstreamProvider } from '../../config.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { decrypt, encrypt } from '../crypto.ts';

const AAD = 'federation-client-secret';

export class FederationProviderError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 = 400,
  ) {
    super(message);
  }
}

/** What callers may see of a provider: everything but the client secret. */
export type ProviderView = Omit<UpstreamInput, 'clientSecret'> & { source: 'environment' | 'database' };

export interface FederationRegistry {
  reload(): Promise<void>;
  /** The providers FEDERATION_PROVIDERS gave at start. */
  readonly fromEnv: UpstreamProvider[];
}

export function createFederationRegistry(prisma: PrismaClient, config: Config, logger: Logger): FederationRegistry {
  const fromEnv = [...config.federation.providers];
  return {
    fromEnv,
    async reload() {
      const rows = await prisma.federationProvider.findMany({ orderBy: { createdAt: 'asc' } });
      const taken = new Set(fromEnv.map((p) => p.id));
      const stored: UpstreamProvider[] = [];
      for (const row of rows) {
        if (taken.has(row.id)) continue;
        const parsed = upstreamSchema.safeParse({ ...(row.settings as object), clientSecret: decrypt(config.encryptionKey, row.clientSecretEnc, `${AAD}:${row.id}`) });
        if (!parsed.success) {
          logger.warn({ provider: row.id }, 'stored upstream provider is invalid; skipped');
          continue;
        }
        stored.push(...upstreamProviders([parsed.data]));
      }
      config.federation.providers = [...fromEnv, ...stored];
    },
  };
}

export async function listStoredProviders(prisma: PrismaClient, config: Config): Promise<ProviderView[]> {
  const rows = await prisma.federationProvider.findMany({ orderBy: { createdAt: 'asc' } });
  const env = config.federation.providers.filter((p) => !rows.some((r) => r.id === p.id));
  return [
    ...env.map((p) => ({ id: p.id, type: p.type, name: p.name, issuer: p.issuer, clientId: p.clientId, scopes: p.scopes, enabled: p.enabled, source: 'environment' as const })),
    ...rows.map((r) => ({ ...(r.settings as Omit<UpstreamInput, 'clientSecret'>), id: r.id, source: 'database' as const })),
  ];
}

/** Adds or replaces an operator-managed provider. `input` is validated like FEDERATION_PROVIDERS. */
export async function saveProvider(prisma: PrismaClient, config: Config, fromEnv: string[], input: unknown): Promise<ProviderView> {
  const parsed = upstreamSchema.safeParse(input);
  if (!parsed.success) throw new FederationProviderError(parsed.error.issues.map((i) => `${i.path.join('.') || 'provider'}: ${i.message}`).join('; '));
  const { clientSecret, ...settings } = parsed.data;
  if (fromEnv.includes(settings.id)) throw new FederationProviderError(`provider "${settings.id}" is configured by FEDERATION_PROVIDERS; change it there`, 409);
  const clientSecretEnc = encrypt(config.encryptionKey, clientSecret, `${AAD}:${settings.id}`);
  await prisma.federationProvider.upsert({
    where: { id: settings.id },
    create: { id: settings.id, settings, clientSecretEnc },
    update: { settings, clientSecretEnc },
  });
  return { ...settings, source: 'database' };
}

export async function deleteProvider(prisma: PrismaClient, fromEnv: string[], id: string): Promise<void> {
  if (fromEnv.includes(id)) throw new FederationProviderError(`provider "${id}" is configured by FEDERATION_PROVIDERS; remove it there`, 409);
  // The connections stay (so re-adding the provider restores them) but are marked revoked; a later
  // sign-in through a re-added provider makes them active again.
  const [r] = await prisma.$transaction([
    prisma.federationProvider.deleteMany({ where: { id } }),
    prisma.federatedIdentity.updateMany({ where: { provider: id }, data: { status: 'revoked' } }),
  ]);
  if (!r.count) throw new FederationProviderError(`no provider "${id}"`, 404);
}
