import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { type Catalogue, ContractViolation, type Envelope, type FieldReason } from '@sitesaga/message-kit';
import type { Consumer, ConsumerCrashEvent, EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { lastValueFrom } from 'rxjs';
import type { DataSource } from 'typeorm';
import type { MessagingConfig } from '../config/messaging-config';
import { withMessageScope } from '../correlation';
import { DeadLetterStore } from '../dead-letter/dead-letter-store';
import { DeadLetterer } from '../dead-letter/dead-letterer';
import { reportConsumerLag } from '../observability/consumer-lag-metrics';
import { hopTiming } from '../observability/hop-timing';
import { type ReceivedHops, receivedHops } from '../observability/hops';
import { type TracedSpan, traceparentOf, tracer } from '../observability/tracing';
import type { MessagingMetrics } from '../observability/messaging-metrics';
import { type BackoffPolicy, backoffDelay, delay } from '../retry/backoff';
import { isConnectionFailure } from '../retry/connection-failure';
import { type DeliveryAttempt, withDeliveryAttempt } from '../retry/delivery-attempt';
import { classifyFailure, describeError } from '../retry/failure-classification';
import { createDeadLetterProducer } from './kafka-client';
import { KafkaEnvelopeContext } from './kafka-envelope.context';

/** What an `@OnInvalidMessage` handler receives: a readable envelope whose payload broke its contract. */
export interface InvalidMessage {
  readonly envelope: Envelope;
  readonly reasons: readonly FieldReason[];
  readonly error: string;
}

/** Waiting out a database outage inside a handler: capped, so recovery is noticed within seconds. */
const OUTAGE_BACKOFF = { initialMs: 200, factor: 2, maxMs: 5_000, jitter: 0.2 } as const;

export const invalidPatternOf = (type: string): string => `invalid:${type}`;

export interface KafkaEnvelopeServerOptions {
  readonly kafka: Kafka;
  readonly config: MessagingConfig;
  /** The messages the service reads: every consumed message is parsed and validated against it. */
  readonly catalogue: Catalogue;
  /** Topics this service consumes; handlers are matched by envelope type. */
  readonly topics: readonly string[];
  readonly logger: Logger;
  readonly metrics?: MessagingMetrics;
  /**
   * The service's database: dead letters keep their full detail in its `dead_letters`
   * table, and are parked there when the DLQ refuses them. Without it, a dead letter the
   * DLQ refuses is given back to Kafka (the partition waits).
   */
  readonly dataSource?: DataSource;
  /** Test seam: creates the dead-letter producer (default `createDeadLetterProducer`). */
  readonly createDeadLetterProducer?: (kafka: Kafka) => Producer;
  /** Backoff between attempts to recreate a consumer kafkajs gave up on. */
  readonly restartBackoff?: BackoffPolicy;
  /**
   * Runs the handlers of several messages in one unit of work (the service's UnitOfWork):
   * used when `config.batchSize` > 1. `false` means nothing was committed, and the
   * messages are then handled one by one.
   */
  readonly batcher?: { runBatch(causes: readonly Envelope[], handle: (index: number) => Promise<void>): Promise<boolean> };
}

/** A message of a fetched batch, read and matched to its handler, ready to join a batch unit of work. */
interface PreparedMessage {
  readonly envelope: Envelope;
  readonly handler: MessageHandler;
  readonly context: KafkaEnvelopeContext;
  readonly hops: ReceivedHops;
}

/**
 * Where the consumer loop is: `running` (in its group, fetching), `starting` (connecting
 * or joining), `restarting` (crashed; kafkajs or this transport is bringing it back),
 * `stopped` (closed, or never started).
 */
export type ConsumerState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface ConsumerHealth {
  readonly state: ConsumerState;
  /** Since when the consumer is not running (null while it runs). */
  readonly downSince: number | null;
  readonly restarts: number;
}

const RESTART_BACKOFF: BackoffPolicy = { initialMs: 1_000, factor: 2, maxMs: 30_000, jitter: 0.2 };

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
 *   which re-reads from the same offset: the message never loses its place. This is the
 *   one retry layer: a participant command's unit of work does not loop itself, it learns
 *   from the attempt (retry/delivery-attempt.ts) when to answer with a transient failure;
 * - errors reach the transport whole (see RethrowToTransportFilter) and are logged with
 *   the message's saga and correlation ids: nothing is swallowed;
 * - a slow handler keeps heart-beating, so it does not cost a rebalance and duplicates;
 * - topics are never auto-created (consumer and producer refuse), and a new consumer
 *   group starts from the earliest offset, so commands sent before it first joined are
 *   not skipped;
 * - a dead letter is bounded and never stops the partition (DeadLetterer);
 * - a consumer that crashes comes back: kafkajs restarts it after a retriable error, and
 *   after a non-retriable one (which kafkajs never recovers from, while the process stays
 *   up) this transport recreates it with backoff. `health()` tells where it is.
 */
export class KafkaEnvelopeServer extends Server implements CustomTransportStrategy {
  private consumer: Consumer | null = null;
  private readonly deadLetterer: DeadLetterer;
  private readonly inFlight = new Set<Promise<void>>();
  /** Handlers by message type: Nest's lookup JSON-parses the pattern (and throws, for a plain type) on every message. */
  private readonly handlersByType = new Map<string, MessageHandler>();
  private state: ConsumerState = 'stopped';
  private downSince: number | null = Date.now();
  private restarts = 0;
  private closing = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: KafkaEnvelopeServerOptions) {
    super();
    const createProducer = options.createDeadLetterProducer ?? createDeadLetterProducer;
    this.deadLetterer = new DeadLetterer({
      createProducer: () => createProducer(options.kafka),
      store: options.dataSource ? new DeadLetterStore(options.dataSource) : null,
      logger: options.logger.child({ component: 'dead-letter' }),
      metrics: options.metrics,
    });
  }

  /** Where the consumer loop is, for /health. */
  health(): ConsumerHealth {
    return { state: this.state, downSince: this.downSince, restarts: this.restarts };
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  async close(): Promise<void> {
    // Stop fetching, let handlers in flight finish (and their offsets commit), then leave.
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const consumer = this.consumer;
    this.consumer = null;
    this.setState('stopped');
    if (consumer) {
      await consumer.stop();
      await Promise.allSettled([...this.inFlight]);
      await consumer.disconnect();
    }
    await this.deadLetterer.close();
  }

  on(): never {
    throw new Error('KafkaEnvelopeServer does not support on(); use its health() instead');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async start(): Promise<void> {
    this.closing = false;
    await this.deadLetterer.start();
    await this.runConsumer();
    this.options.logger.info({ topics: this.options.topics, groupId: this.options.config.groupId }, 'consuming');
  }

  private setState(state: ConsumerState): void {
    if (state === this.state) return;
    this.state = state;
    if (state === 'running') this.downSince = null;
    else this.downSince ??= Date.now();
    this.options.metrics?.consumerRunning.set(state === 'running' ? 1 : 0);
  }

  /** Creates, subscribes and runs a consumer; `running` once it has joined its group. */
  private async runConsumer(): Promise<void> {
    const { kafka, config } = this.options;
    const consumer = kafka.consumer({
      groupId: config.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      maxWaitTimeInMs: config.fetchMaxWaitMs,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 30_000 },
    });
    this.consumer = consumer;
    this.setState('starting');
    // kafkajs reports a join (first or after its own restart) and a crash; the state
    // follows them, never the promise of run(), which resolves even when joining failed.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (this.consumer === consumer && !this.closing) this.setState('running');
    });
    consumer.on(consumer.events.CRASH, (event: ConsumerCrashEvent) => this.onCrash(consumer, event));
    if (this.options.metrics) reportConsumerLag(consumer, this.options.metrics.registry, config.topicPrefix);
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics.map((topic) => `${config.topicPrefix}${topic}`), fromBeginning: true });
    const batched = config.batchSize > 1 && this.options.batcher !== undefined;
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 500,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      // Handlers see the contract's topic names; the prefix exists only on the wire.
      ...(batched
        ? { eachBatchAutoResolve: false, eachBatch: (payload: EachBatchPayload) => this.track(this.handleBatch(payload)) }
        : { eachMessage: (payload: EachMessagePayload) => this.track(this.handleMessage({ ...payload, topic: payload.topic.slice(config.topicPrefix.length) })) }),
    });
  }

  /**
   * kafkajs restarts a consumer after a retriable crash (`restart: true`); after a
   * non-retriable one it disconnects and never comes back, though the process lives on.
   * Then this transport recreates the consumer, with backoff, until it runs again.
   */
  private onCrash(consumer: Consumer, { payload }: ConsumerCrashEvent): void {
    if (this.consumer !== consumer || this.closing) return;
    this.options.metrics?.consumerCrashes.inc({ restart: String(payload.restart) });
    this.options.logger.error({ err: payload.error, restart: payload.restart, groupId: payload.groupId }, 'the Kafka consumer crashed');
    this.setState('restarting');
    if (!payload.restart) this.scheduleRestart(consumer, 1);
  }

  private scheduleRestart(crashed: Consumer, attempt: number): void {
    if (this.closing) return;
    const wait = backoffDelay(this.options.restartBackoff ?? RESTART_BACKOFF, attempt);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart(crashed, attempt);
    }, wait);
  }

  private async restart(crashed: Consumer, attempt: number): Promise<void> {
    if (this.closing || this.consumer !== crashed) return;
    await crashed.disconnect().catch(() => undefined);
    this.restarts += 1;
    try {
      await this.runConsumer();
      this.options.logger.warn({ attempt }, 'the Kafka consumer was recreated after a crash');
    } catch (error) {
      this.options.logger.error({ err: error, attempt }, 'recreating the Kafka consumer failed; trying again');
      const failed = this.consumer;
      if (failed && !this.closing) {
        this.setState('restarting');
        this.scheduleRestart(failed, attempt + 1);
      }
    }
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  /**
   * A fetched batch of one partition, in chunks of up to `batchSize` messages: each chunk
   * is handled in ONE unit of work when every message in it is readable, valid and has a
   * handler, else (or when that unit of work fails) message by message, exactly as
   * `eachMessage` would. Offsets are resolved only for handled messages, in order.
   */
  private async handleBatch({ batch, resolveOffset, heartbeat, pause, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { config, metrics } = this.options;
    const topic = batch.topic.slice(config.topicPrefix.length);
    const fetchedAt = Date.now();
    for (let index = 0; index < batch.messages.length; ) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(index, index + config.batchSize);
      const prepared = chunk.length > 1 ? this.prepare(topic, batch.partition, chunk, heartbeat, fetchedAt) : null;
      const tried = new Map<number, DeliveryAttempt>();
      const together =
        prepared !== null &&
        (await this.options.batcher!.runBatch(
          prepared.map(({ envelope }) => envelope),
          (at) => this.dispatchOnce(prepared[at]!, (attempt) => tried.set(at, attempt)),
        ));
      if (together) {
        for (const { envelope } of prepared) metrics?.consumed.inc({ topic, type: envelope.type, outcome: 'handled' });
        for (const message of chunk) resolveOffset(message.offset);
      } else {
        for (const [at, message] of chunk.entries()) {
          if (!isRunning() || isStale()) return;
          // A command whose own work failed in the batch has had its first attempt.
          await this.handleMessage({ topic, partition: batch.partition, message, heartbeat, pause }, tried.get(at)?.spent ? 1 : 0, fetchedAt);
          resolveOffset(message.offset);
        }
      }
      index += chunk.length;
      await heartbeat();
    }
  }

  /**
   * Nest's handler of `pattern`, remembered when there is one: the map holds only the
   * patterns the service registered, whatever types strangers send.
   */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    const known = this.handlersByType.get(pattern);
    if (known) return known;
    const handler = super.getHandlerByPattern(pattern);
    if (handler) this.handlersByType.set(pattern, handler);
    return handler;
  }

  /** The chunk's messages with their handlers, or null when any of them needs the one-by-one path. */
  private prepare(topic: string, partition: number, messages: readonly KafkaMessage[], heartbeat: () => Promise<void>, fetchedAt: number): PreparedMessage[] | null {
    const prepared: PreparedMessage[] = [];
    for (const message of messages) {
      try {
        const envelope = this.options.catalogue.validate(this.options.catalogue.parseEnvelope(message.value), topic);
        const handler = this.getHandlerByPattern(envelope.type);
        if (!handler) return null;
        prepared.push({ envelope, handler, context: new KafkaEnvelopeContext([topic, partition, message, heartbeat]), hops: receivedHops(message, fetchedAt) });
      } catch (error) {
        if (error instanceof ContractViolation) return null;
        throw error;
      }
    }
    return prepared;
  }

  /**
   * One handler call inside a batch unit of work: no retry here (a failure sends the batch
   * down the one-by-one path, where the attempts go on). `track` receives the attempt, which
   * a participant command marks `spent` when its own work failed.
   */
  private async dispatchOnce({ envelope, handler, context, hops }: PreparedMessage, track: (attempt: DeliveryAttempt) => void): Promise<void> {
    const attempt: DeliveryAttempt = { messageId: envelope.id, attempt: 1, last: false, spent: false };
    track(attempt);
    const span = this.handleSpan(envelope, context);
    try {
      await withMessageScope(
        envelope,
        () =>
          withDeliveryAttempt(attempt, async () => {
            await lastValueFrom(this.transformToObservable(await handler(envelope, context)), { defaultValue: undefined });
          }),
        hops,
        span?.traceparent,
      );
      span?.end();
    } catch (error) {
      span?.end(error);
      throw error;
    }
  }

  /** The span of handling a message, child of the span that published it (tracing on only). */
  private handleSpan(envelope: Envelope, context: KafkaEnvelopeContext): TracedSpan | null {
    return (
      tracer()?.start(`handle ${envelope.type}`, 'consumer', traceparentOf(context.getMessage().headers), {
        'messaging.system': 'kafka',
        'messaging.destination.name': context.getTopic(),
        'messaging.message.id': envelope.id,
        'messaging.consumer.group.name': this.options.config.groupId,
        'saga.id': envelope.sagaId,
        'service.component': this.options.config.service,
      }) ?? null
    );
  }

  /** `spent`: attempts this message already had (its try inside a batch unit of work that failed). */
  private async handleMessage({ topic, partition, message, heartbeat }: EachMessagePayload, spent = 0, fetchedAt = Date.now()): Promise<void> {
    const { metrics, config } = this.options;
    const recv = fetchedAt;
    let envelope: Envelope;
    try {
      envelope = this.options.catalogue.parseEnvelope(message.value);
    } catch (error) {
      if (!(error instanceof ContractViolation)) throw error;
      await this.deadLetter(topic, partition, message, error.message, error.reasons, 'unreadable');
      return;
    }

    const context = new KafkaEnvelopeContext([topic, partition, message, heartbeat]);
    try {
      envelope = this.options.catalogue.validate(envelope, topic);
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
    await this.dispatch(handler, envelope, envelope, context, spent, receivedHops(message, fetchedAt));
    hopTiming?.record({ ev: 'recv', id: envelope.id, kts: Number(message.timestamp), recv, done: Date.now() });
  }

  /**
   * Runs a handler with the message's correlation scope and a heartbeat, retrying in
   * place up to `handlerAttempts` attempts in all (`spent` of them already had); decides
   * what happens when it keeps failing (see the class comment). Each attempt runs in its
   * DeliveryAttempt scope, so that a participant command knows its last one.
   */
  private async dispatch(handler: MessageHandler, data: unknown, envelope: Envelope, context: KafkaEnvelopeContext, spent = 0, hops?: ReceivedHops): Promise<void> {
    const { logger, metrics, config } = this.options;
    const topic = context.getTopic();
    const partition = context.getPartition();
    const message = context.getMessage();
    const beat = setInterval(() => context.heartbeat().catch(() => undefined), Math.max(500, config.heartbeatIntervalMs));
    const timer = metrics?.handlingSeconds.startTimer({ type: envelope.type });
    const span = this.handleSpan(envelope, context);
    let failure: unknown;
    let outage = 0;
    try {
      for (let attempt = spent + 1; ; attempt++) {
        try {
          const delivery: DeliveryAttempt = { messageId: envelope.id, attempt, last: attempt >= config.handlerAttempts, spent: false };
          await withMessageScope(
            envelope,
            () =>
              withDeliveryAttempt(delivery, async () => {
                await lastValueFrom(this.transformToObservable(await handler(data, context)), { defaultValue: undefined });
              }),
            hops,
            span?.traceparent,
          );
          metrics?.consumed.inc({ topic, type: envelope.type, outcome: 'handled' });
          return;
        } catch (error) {
          const kind = classifyFailure(error);
          withMessageScope(envelope, () =>
            logger.warn({ err: error, attempt, kind, topic, partition, offset: message.offset }, `handling ${envelope.type} failed`),
          );
          if (kind === 'unreadable') {
            const reasons = error instanceof ContractViolation ? error.reasons : [];
            await this.deadLetter(topic, partition, message, describeError(error), reasons, 'unreadable');
            return;
          }
          if (kind === 'transient' && isConnectionFailure(error) && !this.closing) {
            // A database that is not there is an outage, not a verdict on this message:
            // wait it out in place (heart-beating), spending no attempt, instead of giving
            // the message back to kafkajs, whose own retries end in a consumer restart.
            outage += 1;
            await delay(backoffDelay(OUTAGE_BACKOFF, outage));
            attempt -= 1;
            continue;
          }
          outage = 0;
          if (attempt >= config.handlerAttempts) {
            if (kind === 'transient') {
              // Give the message back: kafkajs re-reads this offset after its own backoff.
              metrics?.consumed.inc({ topic, type: envelope.type, outcome: 'failed' });
              failure = error;
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
      span?.end(failure);
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
    const letter = { topic, partition, message, consumerGroup: this.options.config.groupId, error, reasons, topicPrefix: this.options.config.topicPrefix };
    const result = await this.deadLetterer.deadLetter(letter, outcome);
    this.options.metrics?.deadLettered.inc({ topic });
    this.options.metrics?.consumed.inc({ topic, type: 'unknown', outcome: 'dead-lettered' });
    // The log line is bounded like the DLQ record: the full list is in dead_letters.
    const logged = {
      topic,
      partition,
      offset: message.offset,
      error: error.slice(0, 2_000),
      reasons: reasons.slice(0, 20),
      reasonCount: reasons.length,
      outcome,
      detailId: result.detailId,
    };
    if (result.where === 'dlq') this.options.logger.error({ ...logged, dlq: result.topic }, `message sent to ${result.topic}`);
    else this.options.logger.error({ ...logged, parkedReason: result.reason }, 'message parked in dead_letters');
  }
}
