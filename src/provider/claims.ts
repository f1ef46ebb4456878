// findAccount: maps a subject to its claims. Suspended or disabled users are not found, so every
// token exchange and refresh for them fails from the moment their status changes.
import type { Account, FindAccount } from 'oidc-provider';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { roleNames } from '../services/rbac.ts';
import { findUserById } from '../services/users.ts';

export function createFindAccount(prisma: PrismaClient): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const user = await findUserById(prisma, sub);
    if (!user || user.status !== 'active') return undefined;
    return {
      accountId: user.id,
      async claims(_use, scope) {
        const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.emailVerified,
          ...(name ? { name } : {}),
          ...(user.firstName ? { given_name: user.firstName } : {}),
          ...(user.lastName ? { family_name: user.lastName } : {}),
          ...(user.username ? { preferred_username: user.username } : {}),
          ...(user.phone ? { phone_number: user.phone, phone_number_verified: false } : {}),
          ...(user.address ? { address: user.address as Record<string, string> } : {}),
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
          // Read only when asked for: most tokens do not carry roles.
          ...(scope.split(' ').includes('roles') ? { roles: await roleNames(prisma, user.id) } : {}),
        };
      },
    };
  };
}
