import type { Consumer } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';

const NAME = 'kafka_consumer_lag';

/**
 * `kafka_consumer_lag{topic,partition}`: messages behind the partition's end after each
 * batch this consumer processed (kafkajs `END_BATCH_PROCESS` `offsetLag`: high watermark
 * − 1 − last offset of the batch; `eachMessage` does not expose it). Topics carry the
 * contract names (no KAFKA_TOPIC_PREFIX). A partition this member loses in a rebalance
 * is dropped, so summing over replicas counts every partition once; one never fetched
 * since it was assigned has no series yet.
 */
export function reportConsumerLag(consumer: Consumer, registry: Registry, topicPrefix = ''): void {
  // One gauge per registry, whatever the number of consumers or restarts.
  const gauge =
    (registry.getSingleMetric(NAME) as Gauge<'topic' | 'partition'> | undefined) ??
    new Gauge({
      name: NAME,
      help: 'Messages between the last offset a consumer processed and the end of its partition, per topic and partition',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    });
  const contractTopic = (topic: string): string => (topic.startsWith(topicPrefix) ? topic.slice(topicPrefix.length) : topic);
  const reported = new Map<string, { topic: string; partition: string }>();

  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const labels = { topic: contractTopic(payload.topic), partition: String(payload.partition) };
    reported.set(`${payload.topic}/${payload.partition}`, labels);
    gauge.set(labels, Math.max(0, Number(payload.offsetLag)));
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const [key, labels] of reported) {
      const [topic, partition] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
      if (!payload.memberAssignment[topic]?.includes(partition)) {
        gauge.remove(labels);
        reported.delete(key);
      }
    }
  });
  consumer.on(consumer.events.STOP, () => {
    for (const labels of reported.values()) gauge.remove(labels);
    reported.clear();
  });
}
