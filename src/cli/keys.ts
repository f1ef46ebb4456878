import { listSigningKeys, loadSigningKeys, rotateSigningKeys } from '../provider/keys.ts';
import { CliError, print, withDb } from './context.ts';

export const help = `keys list        Lists signing keys (public data only).
keys rotate      Creates new signing keys; the previous ones keep verifying until every token
                 they signed has expired. Running servers pick the new keys up at once.`;

export async function run(sub: string | undefined): Promise<void> {
  if (sub === 'list') return print(await withDb(({ db }) => listSigningKeys(db.prisma)));
  if (sub === 'rotate') {
    return print(
      await withDb(async ({ db, config }) => {
        // Make sure there is something to rotate on a fresh install.
        await loadSigningKeys(db.prisma, config.encryptionKey, config.signingAlg);
        const overlap = Math.max(config.ttl.accessToken, config.ttl.idToken, config.ttl.clientCredentials) + 300;
        return rotateSigningKeys(db.prisma, config.encryptionKey, overlap);
      }),
    );
  }
  throw new CliError(`usage:\n${help}`);
}
