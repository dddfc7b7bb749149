import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Catalogue, Envelope } from '@sitesaga/message-kit';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { MessagingConfig } from '../config/messaging-config';
import { createKafka, createOutboxProducer } from '../kafka/kafka-client';
import { KafkaEnvelopeServer } from '../kafka/kafka-envelope.server';
import { MessagingMetrics } from '../observability/messaging-metrics';
import { OutboxBacklogMetrics } from '../observability/outbox-backlog-metrics';
import { OutboxRelay } from '../outbox/outbox-relay';
import { inboxRetention, RetentionPruner } from '../retention/retention-pruner';
import type { Preload } from '../outbox/deferred-writes';
import { UnitOfWork } from '../outbox/unit-of-work';
import { DATABASE_URL, KAFKA, LOGGER, MESSAGING_CONFIG, OUTBOX_PRODUCER } from './messaging.module.tokens';
import { stopTracing } from '../observability/tracing';

export { DATABASE_URL, KAFKA, LOGGER, MESSAGING_CONFIG, OUTBOX_PRODUCER };

export interface MessagingModuleOptions {
  readonly config: MessagingConfig;
  readonly logger: Logger;
  readonly databaseUrl: string;
  /** The service's messages (e.g. the site catalogue): what it reads is validated, and what it writes routed, by it. */
  readonly catalogue: Catalogue;
  /** Topics the service consumes. */
  readonly topics: readonly string[];
  /** Asked before every attempt of every participant command (the service chassis' fault injection). */
  readonly intercept?: (command: Envelope) => 'proceed' | 'drop';
  /** What a unit of work reads with BEGIN for its messages' handlers (e.g. the orchestrator's sagas). */
  readonly preload?: Preload;
}

/**
 * Starts the relay once the app is up. At shutdown, before the database closes: stop
 * waiting out database outages, stop consuming (handlers in flight finish and commit their offsets), then flush the outbox,
 * then stop the relay — so what the last handlers wrote is published before exit.
 */
@Injectable()
class OutboxRelayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly server: KafkaEnvelopeServer,
    @Inject(OUTBOX_PRODUCER) private readonly producer: Producer,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly unitOfWork: UnitOfWork,
    private readonly pruner: RetentionPruner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.connect();
    this.relay.start();
    this.pruner.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // A handler waiting out a database outage would hold the consumer's stop forever.
    this.unitOfWork.stopWaiting();
    await this.pruner.stop();
    await this.server.close().catch((error: unknown) => this.logger.warn({ err: error }, 'consumer close at shutdown failed'));
    await this.relay.drain().catch((error: unknown) => this.logger.warn({ err: error }, 'outbox flush at shutdown failed'));
    await this.relay.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
    await stopTracing(); // the last spans go out (nothing when tracing is off)
  }
}

@Global()
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: MESSAGING_CONFIG, useValue: options.config },
        { provide: LOGGER, useValue: options.logger },
        { provide: DATABASE_URL, useValue: options.databaseUrl },
        {
          provide: Registry,
          useFactory: () => {
            const registry = new Registry();
            registry.setDefaultLabels({ service: options.config.service });
            // The event-loop lag histogram samples on a native timer, and each sample wakes the
            // process: at prom-client's default 10 ms, 100 wake-ups a second; at 100 ms, still
            // ten, which were most of an idle service's CPU here (a wake-up costs a syscall
            // round, dear on a virtual machine). Once a second: a loop blocked for a second or
            // more always shows, a shorter block in proportion to its length.
            collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1_000 });
            return registry;
          },
        },
        { provide: MessagingMetrics, useFactory: (registry: Registry) => new MessagingMetrics(registry), inject: [Registry] },
        {
          provide: OutboxBacklogMetrics,
          useFactory: (registry: Registry, dataSource: DataSource) => new OutboxBacklogMetrics(registry, dataSource, { logger: options.logger }),
          inject: [Registry, getDataSourceToken()],
        },
        { provide: KAFKA, useFactory: () => createKafka(options.config, options.logger) },
        { provide: OUTBOX_PRODUCER, useFactory: (kafka: Kafka) => createOutboxProducer(kafka), inject: [KAFKA] },
        {
          provide: OutboxRelay,
          useFactory: (dataSource: DataSource, producer: Producer, metrics: MessagingMetrics, kafka: Kafka) =>
            new OutboxRelay({
              dataSource,
              producer,
              createProducer: () => createOutboxProducer(kafka),
              connectionString: options.databaseUrl,
              logger: options.logger.child({ component: 'outbox-relay' }),
              pollMs: options.config.outboxPollMs,
              batchSize: options.config.outboxBatchSize,
              retentionMs: options.config.outboxRetentionMs,
              metrics,
              topicPrefix: options.config.topicPrefix,
            }),
          inject: [getDataSourceToken(), OUTBOX_PRODUCER, MessagingMetrics, KAFKA],
        },
        {
          provide: UnitOfWork,
          useFactory: (dataSource: DataSource, relay: OutboxRelay) =>
            new UnitOfWork(dataSource, {
              consumer: options.config.service,
              catalogue: options.catalogue,
              logger: options.logger,
              outbox: relay,
              relayIsRemote: () => !relay.leader,
              backoff: options.config.handlerBackoff,
              intercept: options.intercept,
              preload: options.preload,
            }),
          inject: [getDataSourceToken(), OutboxRelay],
        },
        {
          provide: KafkaEnvelopeServer,
          useFactory: (kafka: Kafka, metrics: MessagingMetrics, dataSource: DataSource, unitOfWork: UnitOfWork) =>
            new KafkaEnvelopeServer({
              kafka,
              config: options.config,
              catalogue: options.catalogue,
              topics: options.topics,
              logger: options.logger,
              metrics,
              dataSource,
              batcher: unitOfWork,
            }),
          inject: [KAFKA, MessagingMetrics, getDataSourceToken(), UnitOfWork],
        },
        {
          provide: RetentionPruner,
          useFactory: (dataSource: DataSource, registry: Registry) => {
            const pruner = new RetentionPruner({
              dataSource,
              registry,
              logger: options.logger.child({ component: 'retention' }),
              batchSize: options.config.retentionBatchSize,
              intervalMs: options.config.retentionIntervalMs,
            });
            pruner.add(inboxRetention(options.config.inboxRetentionMs));
            return pruner;
          },
          inject: [getDataSourceToken(), Registry],
        },
        OutboxRelayLifecycle,
      ],
      exports: [RetentionPruner, MESSAGING_CONFIG, LOGGER, DATABASE_URL, Registry, MessagingMetrics, KAFKA, OutboxRelay, UnitOfWork, KafkaEnvelopeServer],
    };
  }
}
