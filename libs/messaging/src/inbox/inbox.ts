import { escapeLiteral } from 'pg';

/**
 * Records that `consumer` processed these messages, in the caller's transaction: returns
 * the ids that were new, none for those it had processed (a redelivered message then has
 * no second effect). A concurrent duplicate (two replicas after a rebalance) waits on the
 * primary key until the first transaction ends, then sees the row. Literal SQL, so it can
 * travel in one round trip with the BEGIN: one message (a unit of work) or a whole
 * fetched batch (UnitOfWork.runBatch).
 */
export const inboxInsertSql = (consumer: string, messages: readonly { id: string; type: string }[]): string =>
  `${inboxInsertOrFailSql(consumer, messages)} ON CONFLICT DO NOTHING RETURNING message_id`;

/**
 * The inbox rows of these messages, as a statement that FAILS (unique violation, see
 * `isInboxDuplicate`) when the message was processed already: for a transaction sent
 * whole in one round trip, where a duplicate must roll everything after it back.
 */
export const inboxInsertOrFailSql = (consumer: string, messages: readonly { id: string; type: string }[]): string =>
  `INSERT INTO inbox_messages (consumer, message_id, type) VALUES ${messages
    .map((message) => `(${escapeLiteral(consumer)}, ${escapeLiteral(message.id)}, ${escapeLiteral(message.type)})`)
    .join(', ')}`;

/** Whether `error` is `inboxInsertOrFailSql` finding the message processed already. */
export const isInboxDuplicate = (error: unknown): boolean => {
  const failure = error as { code?: string; table?: string } | null;
  return failure?.code === '23505' && failure.table === 'inbox_messages';
};
