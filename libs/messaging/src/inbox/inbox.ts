import type { EntityManager } from 'typeorm';

/**
 * Records that `consumer` processed `messageId`, in the caller's transaction. Returns
 * false when it already had: a redelivered message then has no second effect. A
 * concurrent duplicate (two replicas after a rebalance) waits on the primary key until
 * the first transaction ends, then sees the row.
 */
export async function recordInInbox(manager: EntityManager, consumer: string, messageId: string, type: string): Promise<boolean> {
  const inserted: unknown[] = await manager.query(
    `INSERT INTO inbox_messages (consumer, message_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1 AS inserted`,
    [consumer, messageId, type],
  );
  return inserted.length === 1;
}
