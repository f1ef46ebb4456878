// Relying-party clients, stored in the `clients` table and validated by oidc-provider's own
// metadata rules before they are saved, so a bad client is refused at creation, not at first use.
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { OIDC_SCOPES } from '../provider/configuration.ts';
import { randomToken } from './crypto.ts';
import { listResourceScopes } from './resources.ts';

export interface ClientInput {
  id: string;
  secret?: string;
  name?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  grantTypes: string[];
  scope: string;
}

let validatorKeys: Promise<JWK[]> | undefined;

async function throwawayKey(alg: 'ES256' | 'RS256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig' };
}

/** The validator stores nothing; a no-op adapter keeps it from setting up its in-memory one. */
class NoStorage {
  async upsert() {}
  async find() {
    return undefined;
  }
  async findByUid() {
    return undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume() {}
  async destroy() {}
  async revokeByGrantId() {}
}

/** A provider instance used only to run oidc-provider's client metadata validation. */
async function metadataValidator(scopes: string[]): Promise<Provider> {
  // A throwaway key, so the provider does not fall back to (and warn about) its development keys.
  // Both algorithms we sign with, so either id_token_signed_response_alg validates.
  validatorKeys ??= Promise.all([throwawayKey('ES256'), throwawayKey('RS256')]);
  return new Provider('http://validator.invalid', {
    adapter: NoStorage as never,
    jwks: { keys: (await validatorKeys) as never },
    clients: [],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    scopes: [...new Set([...OIDC_SCOPES, ...scopes])],
  });
}

export class ClientValidationError extends Error {}

export async function buildClientMetadata(prisma: PrismaClient, input: ClientInput) {
  const publicClient = !input.secret;
  const responseTypes = input.grantTypes.includes('authorization_code') ? ['code'] : [];
  const metadata: Record<string, unknown> = {
    client_id: input.id,
    ...(input.secret ? { client_secret: input.secret } : {}),
    ...(input.name ? { client_name: input.name } : {}),
    redirect_uris: input.redirectUris,
    post_logout_redirect_uris: input.postLogoutRedirectUris ?? [],
    grant_types: input.grantTypes,
    response_types: responseTypes,
    scope: input.scope,
    token_endpoint_auth_method: publicClient ? 'none' : 'client_secret_basic',
  };
  try {
    await (await metadataValidator(await listResourceScopes(prisma))).Client.validate(metadata as never);
  } catch (err) {
    const e = err as { error_description?: string; message?: string };
    throw new ClientValidationError(e.error_description ?? e.message ?? 'invalid client metadata');
  }
  return metadata;
}

export async function createClient(prisma: PrismaClient, input: ClientInput) {
  const metadata = await buildClientMetadata(prisma, input);
  try {
    await prisma.client.create({ data: { id: input.id, payload: metadata as object, dynamic: false } });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new ClientValidationError(`a client with id "${input.id}" already exists`);
    throw err;
  }
  return metadata;
}

export function generateClientSecret(): string {
  return randomToken(32);
}
