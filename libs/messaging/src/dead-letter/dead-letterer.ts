import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { isNonRetriableKafkaError, kafkaErrorKind } from '../kafka/producer-errors';
import type { MessagingMetrics } from '../observability/messaging-metrics';
import { describeError, TransientFailure } from '../retry/failure-classification';
import { type DeadLetter, deadLetterRecord, sendToDeadLetter } from './dead-letter';
import type { DeadLetterStore } from './dead-letter-store';

export type DeadLetterOutcome =
  | { readonly where: 'dlq'; readonly topic: string; readonly detailId: string | null }
  | { readonly where: 'parked'; readonly detailId: string; readonly reason: string };

export interface DeadLettererOptions {
  /** Creates the DLQ producer (and its replacements): `createDeadLetterProducer`. */
  readonly createProducer: () => Producer;
  /** The service's `dead_letters` table; without it a refused dead letter stops the partition. */
  readonly store: DeadLetterStore | null;
  readonly logger: Logger;
  readonly metrics?: MessagingMetrics;
}

/**
 * Dead-letters a message so that the partition always moves on:
 * 1. the full detail goes to the `dead_letters` table (idempotent per offset);
 * 2. a bounded copy goes to `<topic>.dlq`, naming that row in `dlq-detail-id`;
 * 3. when the DLQ refuses it or cannot be reached in time, the row is parked (kept
 *    unpublished, counted in `dlq_parked_total`) and the producer is replaced, since a
 *    failed send can leave an idempotent producer unusable.
 * Only when the table cannot be written either does the message go back to Kafka, as a
 * transient failure: it is re-read from its offset once the database is back.
 */
export class DeadLetterer {
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private closed = false;

  constructor(private readonly options: DeadLettererOptions) {}

  async start(): Promise<void> {
    this.closed = false;
    await this.ready();
  }

  async close(): Promise<void> {
    this.closed = true;
    const producer = await this.connecting?.catch(() => null);
    this.connecting = null;
    this.producer = null;
    await producer?.disconnect().catch(() => undefined);
  }

  async deadLetter(letter: DeadLetter, outcome: string): Promise<DeadLetterOutcome> {
    const { store, logger, metrics } = this.options;
    let detailId: string | null = null;
    if (store) {
      try {
        detailId = await store.record(letter, outcome);
      } catch (error) {
        logger.warn(
          { err: error, topic: letter.topic, partition: letter.partition, offset: letter.message.offset },
          'could not store the dead letter detail; sending the bounded copy only',
        );
      }
    }
    if (store && detailId === null && deadLetterRecord(letter, null).message.value === null) {
      // The DLQ copy would lack the value and nothing else would hold it: keep the message
      // in Kafka (re-read from its offset) until the database is back.
      throw new TransientFailure('the dead letter is too large for the DLQ alone and its table is unreachable');
    }
    try {
      const topic = await sendToDeadLetter(await this.ready(), letter, detailId);
      if (detailId)
        await store?.markPublished(detailId).catch((error: unknown) => logger.warn({ err: error, detailId }, 'could not mark the dead letter published'));
      return { where: 'dlq', topic, detailId };
    } catch (error) {
      await this.replace(error);
      const reason = `the DLQ did not take it: ${kafkaErrorKind(error)}: ${describeError(error)}`.slice(0, 2_000);
      try {
        if (!store) throw new Error('no dead_letters table to park it in');
        detailId ??= await store.record(letter, outcome);
        await store.park(detailId, reason);
      } catch (parkError) {
        logger.error({ err: parkError, cause: describeError(error) }, 'could neither publish nor park a dead letter; giving the message back to Kafka');
        throw new TransientFailure('dead letter could be neither published nor parked', { cause: error });
      }
      metrics?.deadLettersParked.inc({ topic: letter.topic });
      logger.error(
        { topic: letter.topic, partition: letter.partition, offset: letter.message.offset, detailId, kind: kafkaErrorKind(error), err: error },
        'dead letter parked in the dead_letters table; the partition moves on',
      );
      return { where: 'parked', detailId, reason };
    }
  }

  private ready(): Promise<Producer> {
    if (this.closed) return Promise.reject(new Error('dead-letter producer is closed'));
    if (!this.connecting) {
      const producer = this.options.createProducer();
      this.connecting = producer.connect().then(() => (this.producer = producer));
      // A failed connect is retried at the next dead letter, with a fresh producer.
      this.connecting.catch(() => (this.connecting = null));
    }
    return this.connecting;
  }

  /** Any failed send may have left the idempotent producer out of sequence: never reuse it. */
  private async replace(why: unknown): Promise<void> {
    const old = this.producer;
    this.producer = null;
    this.connecting = null;
    this.options.metrics?.producersReplaced.inc({ producer: 'dead-letter' });
    this.options.logger.warn({ err: why, nonRetriable: isNonRetriableKafkaError(why) }, 'replacing the dead-letter producer after a failed send');
    await old?.disconnect().catch(() => undefined);
  }
}
