// Who did an administrative change, and the AccountEvent that records it. The actor is named by
// type and id only (a user's UUID, a client_id, or "cli"): never an email, a name or an address.
import type { AccountEventType, Prisma } from '../generated/prisma/client.ts';

export interface Actor {
  type: 'user' | 'client' | 'cli';
  id: string;
}

export const CLI_ACTOR: Actor = { type: 'cli', id: 'cli' };

/**
 * Changes to the access configuration itself (roles, permissions, clients, resource servers,
 * signing keys) have no user: they are `admin_action` events with `userId` null, and
 * `metadata.action` says what happened.
 */
export const ACCESS_CONFIG_EVENT: AccountEventType = 'admin_action';

type Tx = Pick<Prisma.TransactionClient, 'accountEvent'>;

export async function recordAdminEvent(
  tx: Tx,
  actor: Actor,
  event: { userId: string | null; type: AccountEventType; action: string; details?: Prisma.InputJsonObject },
): Promise<void> {
  await tx.accountEvent.create({
    data: {
      userId: event.userId,
      type: event.type,
      metadata: { action: event.action, actorType: actor.type, actorId: actor.id, ...event.details },
    },
  });
}
