// Signing key rotation as an operator triggers it (admin API, CLI): every running node picks the
// new keys up through the change feed; the old ones keep verifying for the longest token lifetime.
import type { Config } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { loadSigningKeys, rotateSigningKeys } from '../provider/keys.ts';
import { ACCESS_CONFIG_EVENT, recordAdminEvent, type Actor } from './admin-audit.ts';

export async function rotateKeys(prisma: PrismaClient, config: Config, actor: Actor) {
  // Make sure there is something to rotate on a fresh install.
  await loadSigningKeys(prisma, config.encryptionKey, config.signingAlg);
  const overlap = Math.max(config.ttl.accessToken, config.ttl.idToken, config.ttl.clientCredentials) + 300;
  const result = await rotateSigningKeys(prisma, config.encryptionKey, overlap);
  await recordAdminEvent(prisma, actor, { userId: null, type: ACCESS_CONFIG_EVENT, action: 'keys.rotate', details: { created: result.created, retired: result.retired } });
  return result;
}
