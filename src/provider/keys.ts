// Signing keys: generated on first start, stored AES-256-GCM encrypted, rotated with an overlap.
// After a rotation the previous key stays in the JWKS (verify only) until `retireAt`, the longest
// lifetime of anything it signed, so tokens issued before the rotation keep verifying.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { decrypt, encrypt } from '../services/crypto.ts';

export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

const AAD = 'signing-key';

async function generate(alg: SigningAlg): Promise<{ kid: string; jwk: JWK }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, jwk: { ...jwk, kid, alg, use: 'sig' } };
}

async function insertKey(prisma: PrismaClient, encKey: Buffer, alg: SigningAlg): Promise<string> {
  const { kid, jwk } = await generate(alg);
  await prisma.signingKey.create({ data: { kid, alg, privateJwkEnc: encrypt(encKey, JSON.stringify(jwk), AAD) } });
  return kid;
}

/**
 * Returns the private JWKS for oidc-provider: active keys first (the primary algorithm first, since
 * the provider signs with the first key of an algorithm), then retired keys still in their overlap.
 * Creates the missing active keys in a locked transaction so that concurrent first starts of
 * several instances do not each create their own. Reloads pass `create: false`: a reload only
 * follows what a rotation wrote, it never adds keys of its own.
 */
export async function loadSigningKeys(
  prisma: PrismaClient,
  encKey: Buffer,
  primary: SigningAlg,
  { create = true }: { create?: boolean } = {},
): Promise<JWK[]> {
  let rows = await prisma.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
  const missing = SIGNING_ALGS.filter((alg) => !rows.some((r) => r.alg === alg && r.status === 'active'));
  if (missing.length && create) {
    await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(7321001)');
      const current = await tx.signingKey.findMany({ where: { status: 'active' } });
      for (const alg of SIGNING_ALGS) {
        if (!current.some((r) => r.alg === alg)) await insertKey(tx as unknown as PrismaClient, encKey, alg);
      }
    });
    rows = await prisma.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
  }
  const now = Date.now();
  const usable = rows.filter((r) => r.status === 'active' || (r.retireAt && r.retireAt.getTime() > now));
  const rank = (r: (typeof rows)[number]) => (r.status === 'active' ? 0 : 2) + (r.alg === primary ? 0 : 1);
  usable.sort((a, b) => rank(a) - rank(b) || b.createdAt.getTime() - a.createdAt.getTime());
  return usable.map((r) => JSON.parse(decrypt(encKey, r.privateJwkEnc, AAD)) as JWK);
}

/** Public view of the key table for the CLI and admin API (never the private parts). */
export async function listSigningKeys(prisma: PrismaClient) {
  const rows = await prisma.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
  return rows.map(({ kid, alg, status, createdAt, retireAt }) => ({ kid, alg, status, createdAt, retireAt }));
}

/**
 * Retires every active key (kept for verification for `overlapSeconds`) and creates new ones.
 * Keys whose overlap has ended are deleted.
 */
export async function rotateSigningKeys(prisma: PrismaClient, encKey: Buffer, overlapSeconds: number) {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(7321001)');
    const active = await tx.signingKey.findMany({ where: { status: 'active' } });
    const retireAt = new Date(Date.now() + overlapSeconds * 1000);
    await tx.signingKey.updateMany({ where: { status: 'active' }, data: { status: 'retired', retireAt } });
    await tx.signingKey.deleteMany({ where: { status: 'retired', retireAt: { lt: new Date() } } });
    const created: string[] = [];
    for (const alg of SIGNING_ALGS) created.push(await insertKey(tx as unknown as PrismaClient, encKey, alg));
    return { created, retired: active.map((r) => r.kid), retireAt };
  });
}
