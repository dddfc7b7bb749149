import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { ContractViolation, type Envelope, type FieldReason, parseEnvelope, validateMessage } from '@sitesaga/contracts';
import type { Consumer, EachMessagePayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { lastValueFrom } from 'rxjs';
import type { MessagingConfig } from '../config/messaging-config';
import { withMessageScope } from '../correlation';
import { sendToDeadLetter } from '../dead-letter/dead-letter';
import { reportConsumerLag } from '../observability/consumer-lag-metrics';
import type { MessagingMetrics } from '../observability/messaging-metrics';
import { backoffDelay, delay } from '../retry/backoff';
import { classifyFailure, describeError } from '../retry/failure-classification';
import { createOutboxProducer } from './kafka-client';
import { KafkaEnvelopeContext } from './kafka-envelope.context';

/** What an `@OnInvalidMessage` handler receives: a readable envelope whose payload broke its contract. */
export interface InvalidMessage {
  readonly envelope: Envelope;
  readonly reasons: readonly FieldReason[];
  readonly error: string;
}

export const invalidPatternOf = (type: string): string => `invalid:${type}`;

export interface KafkaEnvelopeServerOptions {
  readonly kafka: Kafka;
  readonly config: MessagingConfig;
  /** Topics this service consumes; handlers are matched by envelope type. */
  readonly topics: readonly string[];
  readonly logger: Logger;
  readonly metrics?: MessagingMetrics;
}

/**
 * A Nest microservice transport over kafkajs that carries our envelopes, and closes the
 * known traps of kafkajs under Nest:
 * - offsets are committed only for messages whose handler (and so its transaction) has
 *   finished: `eachMessage` awaits the handler, and kafkajs auto-commit only commits
 *   resolved offsets;
 * - an unreadable or invalid message goes to `<topic>.dlq` with its error, then the
 *   partition moves on; an error that keeps failing the same way (a bug, not an outage)
 *   is dead-lettered after its attempts instead of looping forever;
 * - a transient error is retried in place with backoff, then given back to kafkajs,
 *   which re-reads from the same offset: the message never loses its place;
 * - errors reach the transport whole (see RethrowToTransportFilter) and are logged with
 *   the message's saga and correlation ids: nothing is swallowed;
 * - a slow handler keeps heart-beating, so it does not cost a rebalance and duplicates;
 * - topics are never auto-created (consumer and producer refuse), and a new consumer
 *   group starts from the earliest offset, so commands sent before it first joined are
 *   not skipped.
 */
export class KafkaEnvelopeServer extends Server implements CustomTransportStrategy {
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: KafkaEnvelopeServerOptions) {
    super();
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  async close(): Promise<void> {
    // Stop fetching, let handlers in flight finish (and their offsets commit), then leave.
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) {
      await consumer.stop();
      await Promise.allSettled([...this.inFlight]);
      await consumer.disconnect();
    }
    await this.producer?.disconnect();
    this.producer = null;
  }

  on(): never {
    throw new Error('KafkaEnvelopeServer does not support on(); use its health() instead');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async start(): Promise<void> {
    const { kafka, config } = this.options;
    this.producer = createOutboxProducer(kafka);
    await this.producer.connect();
    const consumer = kafka.consumer({
      groupId: config.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      maxWaitTimeInMs: 500,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 30_000 },
    });
    this.consumer = consumer;
    if (this.options.metrics) reportConsumerLag(consumer, this.options.metrics.registry, config.topicPrefix);
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics.map((topic) => `${config.topicPrefix}${topic}`), fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 500,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      // Handlers see the contract's topic names; the prefix exists only on the wire.
      eachMessage: (payload) => this.track(this.handleMessage({ ...payload, topic: payload.topic.slice(config.topicPrefix.length) })),
    });
    this.options.logger.info({ topics: this.options.topics, groupId: config.groupId }, 'consuming');
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async handleMessage({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const { metrics, config } = this.options;
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(message.value);
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      await this.deadLetter(topic, partition, message, error.message, error.reasons, 'unreadable');
      return;
    }

    const context = new KafkaEnvelopeContext([topic, partition, message, heartbeat]);
    try {
      envelope = validateMessage(envelope, topic);
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      // A readable envelope with a bad payload may be answered by the service (e.g. a
      // client's CreateSite → SiteCreationRejected with field reasons); otherwise, DLQ.
      const onInvalid = this.getHandlerByPattern(invalidPatternOf(envelope.type));
      if (!onInvalid) {
        await this.deadLetter(topic, partition, message, error.message, error.reasons, 'unreadable');
        return;
      }
      const rejected: InvalidMessage = { envelope, reasons: error.reasons, error: error.message };
      await this.dispatch(onInvalid, rejected, envelope, context);
      return;
    }

    const handler = this.getHandlerByPattern(envelope.type);
    if (!handler) {
      // A command nobody here handles is a routing error worth a person's look; an event
      // this service has no interest in is simply not for it.
      if (topic.endsWith('.commands')) {
        await this.deadLetter(topic, partition, message, `no handler for ${envelope.type} in ${config.service}`, [], 'unhandled');
      } else {
        metrics?.consumed.inc({ topic, type: envelope.type, outcome: 'ignored' });
      }
      return;
    }
    await this.dispatch(handler, envelope, envelope, context);
  }

  /**
   * Runs a handler with the message's correlation scope and a heartbeat, retrying in
   * place; decides what happens when it keeps failing (see the class comment).
   */
  private async dispatch(handler: MessageHandler, data: unknown, envelope: Envelope, context: KafkaEnvelopeContext): Promise<void> {
    const { logger, metrics, config } = this.options;
    const topic = context.getTopic();
    const partition = context.getPartition();
    const message = context.getMessage();
    const beat = setInterval(() => context.heartbeat().catch(() => undefined), Math.max(500, config.heartbeatIntervalMs));
    const timer = metrics?.handlingSeconds.startTimer({ type: envelope.type });
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await withMessageScope(envelope, async () => {
            await lastValueFrom(this.transformToObservable(await handler(data, context)), { defaultValue: undefined });
          });
          metrics?.consumed.inc({ topic, type: envelope.type, outcome: 'handled' });
          return;
        } catch (error) {
          const kind = classifyFailure(error);
          withMessageScope(envelope, () => logger.warn({ err: error, attempt, kind, topic, partition, offset: message.offset }, `handling ${envelope.type} failed`));
          if (kind === 'unreadable') {
            const reasons = error instanceof ContractViolation ? error.reasons : [];
            await this.deadLetter(topic, partition, message, describeError(error), reasons, 'unreadable');
            return;
          }
          if (attempt >= config.handlerAttempts) {
            if (kind === 'transient') {
              // Give the message back: kafkajs re-reads this offset after its own backoff.
              metrics?.consumed.inc({ topic, type: envelope.type, outcome: 'failed' });
              throw error;
            }
            // The same error every time is a bug or a poison message: park it, move on.
            await this.deadLetter(topic, partition, message, describeError(error), [], 'handler-failed');
            return;
          }
          await delay(backoffDelay(config.handlerBackoff, attempt));
        }
      }
    } finally {
      clearInterval(beat);
      timer?.();
    }
  }

  private async deadLetter(
    topic: string,
    partition: number,
    message: EachMessagePayload['message'],
    error: string,
    reasons: readonly { field: string; message: string }[],
    outcome: string,
  ): Promise<void> {
    if (!this.producer) throw new Error('dead-letter producer is not connected');
    const dlq = await sendToDeadLetter(this.producer, { topic, partition, message, consumerGroup: this.options.config.groupId, error, reasons, topicPrefix: this.options.config.topicPrefix });
    this.options.metrics?.deadLettered.inc({ topic });
    this.options.metrics?.consumed.inc({ topic, type: 'unknown', outcome: 'dead-lettered' });
    this.options.logger.error({ topic, partition, offset: message.offset, dlq, error, reasons, outcome }, `message sent to ${dlq}`);
  }
}
