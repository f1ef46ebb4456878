import { listStoredProviders, deleteProvider, FederationProviderError, saveProvider } from '../services/federation/registry.ts';
import { CliError, list, parse, print, required, withDb } from './context.ts';

export const help = `federation list   Lists upstream sign-in providers (FEDERATION_PROVIDERS and added ones; no secrets).
federation set --id ID --type oidc|google|github --client-id C --client-secret S [--name N]
               [--issuer URL | --discovery-url URL] [--scope s1,s2] [--disabled]
               [--authorization-url U --token-url U --api-url U]   (GitHub Enterprise or a stand-in)
                  Adds or replaces a provider; running servers offer it at once.
federation remove --id ID
                  Removes an added provider (existing connections stay, unusable).`;

export async function run(sub: string | undefined, argv: string[]): Promise<void> {
  if (sub === 'list') return print(await withDb(({ db, config }) => listStoredProviders(db.prisma, config)));
  if (sub === 'set') {
    const v = parse(argv, {
      id: { type: 'string' },
      type: { type: 'string' },
      name: { type: 'string' },
      issuer: { type: 'string' },
      'discovery-url': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      scope: { type: 'string', multiple: true },
      disabled: { type: 'boolean' },
      'authorization-url': { type: 'string' },
      'token-url': { type: 'string' },
      'api-url': { type: 'string' },
    });
    if (v.help) return console.log(help);
    const scopes = list(v.scope);
    const input = {
      id: required(v, 'id'),
      type: required(v, 'type'),
      name: v.name,
      issuer: v.issuer,
      discoveryUrl: v['discovery-url'],
      clientId: required(v, 'client-id'),
      clientSecret: required(v, 'client-secret'),
      scopes: scopes.length ? scopes : undefined,
      enabled: !v.disabled,
      authorizationUrl: v['authorization-url'],
      tokenUrl: v['token-url'],
      apiUrl: v['api-url'],
    };
    return print(
      await withDb(async ({ db, config }) => {
        try {
          return await saveProvider(db.prisma, config, config.federation.providers.map((p) => p.id), input);
        } catch (err) {
          if (err instanceof FederationProviderError) throw new CliError(err.message);
          throw err;
        }
      }),
    );
  }
  if (sub === 'remove') {
    const v = parse(argv, { id: { type: 'string' } });
    if (v.help) return console.log(help);
    const id = required(v, 'id');
    await withDb(async ({ db, config }) => {
      try {
        await deleteProvider(db.prisma, config.federation.providers.map((p) => p.id), id);
      } catch (err) {
        if (err instanceof FederationProviderError) throw new CliError(err.message);
        throw err;
      }
    });
    return print({ removed: id });
  }
  throw new CliError(`usage:\n${help}`);
}
