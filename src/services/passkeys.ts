// Passkeys (WebAuthn) with @simplewebauthn/server: several per user, named, removable; usable as
// a second factor and as a passwordless first factor. Challenges are single use and live 5 minutes
// in the short-lived store. The public key is stored encrypted, the signature counter in
// last_used_step and advanced with a conditional UPDATE (a cloned authenticator shows up as a
// counter that does not move forward).
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Config } from '../config.ts';
import type { PrismaClient, User } from '../generated/prisma/client.ts';
import { decrypt, encrypt } from './crypto.ts';
import type { ShortStore } from './short-store.ts';

const CHALLENGE_TTL = 300;
const AAD = 'webauthn-credential';

export class PasskeyError extends Error {}

function relyingParty(config: Config) {
  const url = new URL(config.issuer);
  return { rpID: url.hostname, origin: url.origin, rpName: config.productName };
}

interface StoredCredential {
  publicKey: string;
  transports?: string[];
}

export async function registrationOptions(prisma: PrismaClient, store: ShortStore, config: Config, user: User) {
  const rp = relyingParty(config);
  const existing = await prisma.twoFactorMethod.findMany({ where: { userId: user.id, type: 'webauthn', verified: true }, select: { credentialId: true } });
  const options = await generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpID,
    userName: user.email,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.filter((c) => c.credentialId).map((c) => ({ id: c.credentialId! })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await store.set(`webauthn:reg:${user.id}`, options.challenge, CHALLENGE_TTL);
  return options;
}

export async function finishRegistration(prisma: PrismaClient, store: ShortStore, config: Config, user: User, name: string, response: unknown) {
  const challenge = await store.get<string>(`webauthn:reg:${user.id}`);
  await store.del(`webauthn:reg:${user.id}`);
  if (!challenge) throw new PasskeyError('The passkey request expired. Start again.');
  const rp = relyingParty(config);
  let result;
  try {
    result = await verifyRegistrationResponse({ response: response as RegistrationResponseJSON, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpID, requireUserVerification: false });
  } catch (err) {
    throw new PasskeyError(`The passkey could not be verified: ${(err as Error).message}`);
  }
  if (!result.verified) throw new PasskeyError('The passkey could not be verified.');
  const { credential } = result.registrationInfo;
  const stored: StoredCredential = { publicKey: Buffer.from(credential.publicKey).toString('base64url'), transports: credential.transports };
  try {
    return await prisma.twoFactorMethod.create({
      data: {
        userId: user.id,
        type: 'webauthn',
        name,
        credentialId: credential.id,
        secretEnc: encrypt(config.encryptionKey, JSON.stringify(stored), `${AAD}:${credential.id}`),
        lastUsedStep: BigInt(credential.counter),
        verified: true,
      },
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new PasskeyError('This passkey is already registered.');
    throw err;
  }
}

/** `key` names the attempt (an interaction uid); `userId` limits the choice to that user's passkeys. */
export async function authenticationOptions(prisma: PrismaClient, store: ShortStore, config: Config, key: string, userId?: string) {
  const creds = userId
    ? await prisma.twoFactorMethod.findMany({ where: { userId, type: 'webauthn', verified: true }, select: { credentialId: true } })
    : [];
  const options = await generateAuthenticationOptions({
    rpID: relyingParty(config).rpID,
    userVerification: 'preferred',
    allowCredentials: creds.filter((c) => c.credentialId).map((c) => ({ id: c.credentialId! })),
  });
  await store.set(`webauthn:auth:${key}`, options.challenge, CHALLENGE_TTL);
  return options;
}

/** Verifies an assertion; returns the user and what the authenticator proved. */
export async function finishAuthentication(prisma: PrismaClient, store: ShortStore, config: Config, key: string, response: unknown, userId?: string) {
  const challenge = await store.get<string>(`webauthn:auth:${key}`);
  await store.del(`webauthn:auth:${key}`);
  if (!challenge) throw new PasskeyError('The passkey request expired. Try again.');
  const r = response as AuthenticationResponseJSON;
  const credentialId = typeof r?.id === 'string' && r.id.length <= 1024 ? r.id : '';
  const method = credentialId ? await prisma.twoFactorMethod.findUnique({ where: { credentialId } }) : null;
  if (!method || method.type !== 'webauthn' || !method.verified || !method.secretEnc || (userId && method.userId !== userId)) {
    throw new PasskeyError('This passkey is not registered for this account.');
  }
  const stored = JSON.parse(decrypt(config.encryptionKey, method.secretEnc, `${AAD}:${credentialId}`)) as StoredCredential;
  const rp = relyingParty(config);
  let result;
  try {
    result = await verifyAuthenticationResponse({
      response: r,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      credential: { id: credentialId, publicKey: Buffer.from(stored.publicKey, 'base64url'), counter: Number(method.lastUsedStep ?? 0), transports: stored.transports },
      requireUserVerification: false,
    });
  } catch (err) {
    throw new PasskeyError(`The passkey could not be verified: ${(err as Error).message}`);
  }
  if (!result.verified) throw new PasskeyError('The passkey could not be verified.');
  const { newCounter, userVerified } = result.authenticationInfo;
  if (newCounter > 0) {
    const moved = await prisma.twoFactorMethod.updateMany({ where: { id: method.id, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: BigInt(newCounter) } }] }, data: { lastUsedStep: BigInt(newCounter) } });
    if (moved.count !== 1) throw new PasskeyError('This passkey was used out of order; it may have been copied.');
  }
  const attachment = r.authenticatorAttachment === 'cross-platform' ? 'hwk' : 'swk';
  // RFC 8176: hwk for a security key, swk for a platform or synced passkey.
  return { userId: method.userId, methodId: method.id, amr: attachment, userVerified };
}
