// Backup codes: 10 single-use codes shown once. They are stored as keyed HMACs (the key never
// leaves the server), so a database dump alone cannot be brute-forced; using one is a
// conditional UPDATE, so a code works exactly once even under concurrent use.
import { randomInt } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { hmacHex } from './crypto.ts';

export const BACKUP_CODE_COUNT = 10;
// No 0/O, 1/I/L: codes are read off paper.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

function newCode(): string {
  const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

function normalise(code: string): string {
  return code.trim().toLowerCase().replace(/[\s-]/g, '');
}

const hash = (key: Buffer, userId: string, code: string) => hmacHex(key, `backup:${userId}:${normalise(code)}`);

/** Replaces the user's codes with 10 new ones and returns them (the only time they are readable). */
export async function regenerateBackupCodes(prisma: PrismaClient, hmacKey: Buffer, userId: string): Promise<string[]> {
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, newCode);
  await prisma.$transaction([
    prisma.backupCode.deleteMany({ where: { userId } }),
    prisma.backupCode.createMany({ data: codes.map((c) => ({ userId, codeHash: hash(hmacKey, userId, c) })) }),
  ]);
  return codes;
}

export async function useBackupCode(prisma: PrismaClient, hmacKey: Buffer, userId: string, code: string): Promise<boolean> {
  const n = normalise(code);
  if (!/^[a-z0-9]{10}$/.test(n)) return false;
  const r = await prisma.backupCode.updateMany({ where: { userId, codeHash: hash(hmacKey, userId, n), usedAt: null }, data: { usedAt: new Date() } });
  return r.count === 1;
}

export async function remainingBackupCodes(prisma: PrismaClient, userId: string): Promise<number> {
  return prisma.backupCode.count({ where: { userId, usedAt: null } });
}
