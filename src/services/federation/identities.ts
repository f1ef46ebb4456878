// FederatedIdentity rows: find, create (alone or with a new user, in one transaction), refresh the
// upstream profile, unlink. The upstream access token arrives already encrypted; no refresh token
// is ever stored.
import type { FederatedIdentity, PrismaClient, User } from '../../generated/prisma/client.ts';
import { encrypt } from '../crypto.ts';
import { emailSchema } from '../users.ts';
import type { UpstreamProfile } from './upstream.ts';

export class IdentityTakenError extends Error {
  constructor() {
    super('this upstream account is already linked');
  }
}

/** AES-256-GCM with the value bound to its provider and upstream user (a row's token cannot be moved). */
export function sealUpstreamToken(key: Buffer, provider: string, subject: string, accessToken: string): string {
  return encrypt(key, accessToken, `federated-token:${provider}:${subject}`);
}

function profileColumns(profile: UpstreamProfile) {
  return {
    displayName: profile.displayName ?? null,
    givenName: profile.givenName ?? null,
    familyName: profile.familyName ?? null,
    upstreamLogin: profile.login ?? null,
    avatarUrl: profile.avatarUrl ?? null,
  };
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'P2002';

export function findIdentity(prisma: PrismaClient, provider: string, subject: string): Promise<FederatedIdentity | null> {
  return prisma.federatedIdentity.findUnique({ where: { provider_providerUserId: { provider, providerUserId: subject } } });
}

export async function linkIdentity(prisma: PrismaClient, userId: string, provider: string, profile: UpstreamProfile, accessTokenEnc: string): Promise<FederatedIdentity> {
  try {
    return await prisma.federatedIdentity.create({
      data: { userId, provider, providerUserId: profile.subject, accessTokenEnc, status: 'active', lastSyncAt: new Date(), ...profileColumns(profile) },
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new IdentityTakenError();
    throw err;
  }
}

/** A federated sign-in: fresh profile and token, status back to active. */
export async function refreshIdentity(prisma: PrismaClient, id: string, profile: UpstreamProfile, accessTokenEnc: string): Promise<void> {
  await prisma.federatedIdentity.update({ where: { id }, data: { accessTokenEnc, status: 'active', lastSyncAt: new Date(), ...profileColumns(profile) } });
}

/**
 * A new account from an upstream profile and its identity, both or neither. Throws
 * IdentityTakenError, or 'email' when the address was registered meanwhile.
 */
export async function createUserWithIdentity(
  prisma: PrismaClient,
  input: { email: string; roles: string[]; provider: string; profile: UpstreamProfile; accessTokenEnc: string },
): Promise<User | 'email'> {
  const { profile } = input;
  try {
    return await prisma.$transaction(async (tx) => {
      const roles = await tx.role.findMany({ where: { name: { in: input.roles } } });
      return tx.user.create({
        data: {
          email: emailSchema.parse(input.email),
          emailVerified: true,
          firstName: profile.givenName,
          lastName: profile.familyName,
          roles: { create: roles.map((r) => ({ roleId: r.id })) },
          federatedIdentities: {
            create: { provider: input.provider, providerUserId: profile.subject, accessTokenEnc: input.accessTokenEnc, lastSyncAt: new Date(), ...profileColumns(profile) },
          },
        },
      });
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const text = JSON.stringify((err as { meta?: unknown }).meta ?? {});
    if (text.includes('email')) return 'email';
    throw new IdentityTakenError();
  }
}

export function listIdentities(prisma: PrismaClient, userId: string) {
  return prisma.federatedIdentity.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });
}

/**
 * Ways the user could still sign in without `except`: a password, a passkey (passwordless
 * sign-in), or another active connection to a provider that is still configured.
 */
export async function otherWaysToSignIn(prisma: PrismaClient, user: User, except: FederatedIdentity, enabledProviders: string[]): Promise<number> {
  const passkeys = await prisma.twoFactorMethod.count({ where: { userId: user.id, type: 'webauthn', verified: true } });
  const others = await prisma.federatedIdentity.count({
    where: { userId: user.id, id: { not: except.id }, status: 'active', provider: { in: enabledProviders } },
  });
  return (user.passwordHash ? 1 : 0) + passkeys + others;
}

export async function unlinkIdentity(prisma: PrismaClient, userId: string, id: string): Promise<FederatedIdentity | null> {
  const row = await prisma.federatedIdentity.findFirst({ where: { id, userId } });
  if (!row) return null;
  await prisma.federatedIdentity.delete({ where: { id: row.id } });
  return row;
}
