import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Messaging figures every service exposes on /metrics. */
export class MessagingMetrics {
  readonly consumed: Counter<'topic' | 'type' | 'outcome'>;
  readonly handlingSeconds: Histogram<'type'>;
  readonly deadLettered: Counter<'topic'>;
  readonly outboxPublished: Counter;
  readonly outboxLag: Histogram;
  readonly outboxParked: Counter;
  readonly deadLettersParked: Counter<'topic'>;
  readonly producersReplaced: Counter<'producer'>;
  readonly consumerCrashes: Counter<'restart'>;
  readonly consumerRunning: Gauge;

  constructor(readonly registry: Registry) {
    this.consumed = new Counter({
      name: 'messages_consumed_total',
      help: 'Messages consumed, by topic, type and outcome (handled, duplicate, ignored, dead-lettered, failed)',
      labelNames: ['topic', 'type', 'outcome'],
      registers: [registry],
    });
    this.handlingSeconds = new Histogram({
      name: 'message_handling_seconds',
      help: 'Time to handle one message, commit included',
      labelNames: ['type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.deadLettered = new Counter({ name: 'dlq_messages_total', help: 'Messages sent to a dead-letter topic', labelNames: ['topic'], registers: [registry] });
    this.outboxPublished = new Counter({ name: 'outbox_published_total', help: 'Outbox messages published to Kafka', registers: [registry] });
    this.outboxLag = new Histogram({
      name: 'outbox_lag_seconds',
      help: 'Time from outbox commit to publish',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    });
    this.outboxParked = new Counter({
      name: 'outbox_parked_total',
      help: 'Outbox messages the broker refused for good: parked in outbox_messages, the relay moved on',
      registers: [registry],
    });
    this.deadLettersParked = new Counter({
      name: 'dlq_parked_total',
      help: 'Dead letters the DLQ topic refused or could not take: kept only in the dead_letters table',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.producersReplaced = new Counter({
      name: 'kafka_producers_replaced_total',
      help: 'Producers disconnected and recreated after a send left them in a bad state',
      labelNames: ['producer'],
      registers: [registry],
    });
    this.consumerCrashes = new Counter({
      name: 'kafka_consumer_crashes_total',
      help: 'Consumer crashes, by whether kafkajs restarted it itself (true) or the transport recreated it (false)',
      labelNames: ['restart'],
      registers: [registry],
    });
    this.consumerRunning = new Gauge({
      name: 'kafka_consumer_running',
      help: '1 while the consumer is in its group and fetching, else 0',
      registers: [registry],
    });
  }
}
