import { Counter, Histogram, Registry } from 'prom-client';

/** Messaging figures every service exposes on /metrics. */
export class MessagingMetrics {
  readonly consumed: Counter<'topic' | 'type' | 'outcome'>;
  readonly handlingSeconds: Histogram<'type'>;
  readonly deadLettered: Counter<'topic'>;
  readonly outboxPublished: Counter;
  readonly outboxLag: Histogram;

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
  }
}
