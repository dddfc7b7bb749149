import { escapeLiteral } from 'pg';

/**
 * Records that `consumer` processed `messageId`, in the caller's transaction: returns
 * one row when it had not, none when it had (a redelivered message then has no second
 * effect). A concurrent duplicate (two replicas after a rebalance) waits on the primary
 * key until the first transaction ends, then sees the row. Literal SQL, so it can travel
 * in one round trip with the BEGIN.
 */
export const inboxInsertSql = (consumer: string, messageId: string, type: string): string =>
  `INSERT INTO inbox_messages (consumer, message_id, type) VALUES (${escapeLiteral(consumer)}, ${escapeLiteral(messageId)}, ${escapeLiteral(type)}) ON CONFLICT DO NOTHING RETURNING 1`;

/**
 * The inbox rows of a whole batch in one statement (the batch's transaction): returns the
 * ids that were new; the others were processed before.
 */
export const inboxInsertManySql = (consumer: string, messages: readonly { id: string; type: string }[]): string =>
  `INSERT INTO inbox_messages (consumer, message_id, type) VALUES ${messages
    .map((message) => `(${escapeLiteral(consumer)}, ${escapeLiteral(message.id)}, ${escapeLiteral(message.type)})`)
    .join(', ')} ON CONFLICT DO NOTHING RETURNING message_id`;
