/** Kafka and Postgres settings every service reads from the spec's environment variables. */
export interface MessagingConfig {
  /** Service name: the inbox's consumer name, the client id, the default consumer group. */
  readonly service: string;
  /**
   * Prepended to every topic and to the default consumer group on the broker
   * (KAFKA_TOPIC_PREFIX), so several environments — or test runs — share one cluster
   * without seeing each other's messages. Contracts keep the spec's names; only the wire
   * names change.
   */
  readonly topicPrefix: string;
  /** Kafka consumer group: KAFKA_GROUP_ID, else the topic prefix and the service name. */
  readonly groupId: string;
  readonly brokers: string[];
  /** Concurrent partitions per consumer (kafkajs `partitionsConsumedConcurrently`). */
  readonly partitionsConsumedConcurrently: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /**
   * How long the broker holds a fetch that finds nothing (KAFKA_FETCH_MAX_WAIT_MS; default
   * 2 s, or the heartbeat interval when that is shorter). It sets an idle consumer's request
   * rate, most of an idle service's CPU. A message that arrives ends the wait at once, so it
   * costs no latency. It bounds how long a clean stop waits for the fetch in flight, and
   * kafkajs heart-beats between fetches, hence never longer than the heartbeat interval.
   */
  readonly fetchMaxWaitMs: number;
  /**
   * How many attempts in all a handler gets for a transient error (HANDLER_ATTEMPTS): the
   * transport is the one retry layer; a participant command answers with a transient
   * failure on the last one, any other handler gives the message back to Kafka.
   */
  readonly handlerAttempts: number;
  readonly handlerBackoff: { initialMs: number; factor: number; maxMs: number; jitter: number };
  /** Fallback poll of the outbox when no wake-up arrives. */
  readonly outboxPollMs: number;
  readonly outboxBatchSize: number;
  readonly outboxRetentionMs: number;
  /** Inbox rows older than this are pruned (INBOX_RETENTION_MS, default 7 days). */
  readonly inboxRetentionMs: number;
  /** Rows per pruning DELETE (RETENTION_BATCH_SIZE) and how often pruning runs (RETENTION_INTERVAL_MS; 0: never). */
  readonly retentionBatchSize: number;
  readonly retentionIntervalMs: number;
  /**
   * Most messages of one fetched batch handled in one unit of work (MESSAGING_BATCH_SIZE):
   * one transaction, one inbox and one outbox statement for all of them. 1 handles every
   * message alone. Worth it where handlers are cheap (the orchestrator); a participant
   * whose handlers do slow work would only make each reply wait for its batch.
   */
  readonly batchSize: number;
}

/** What a service chooses for itself; the environment overrides it. */
export interface MessagingDefaults {
  readonly batchSize?: number;
}

const int = (value: string | undefined, fallback: number): number => {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`expected a non-negative number, got "${value}"`);
  return parsed;
};

export function messagingConfigFromEnv(service: string, env: NodeJS.ProcessEnv = process.env, defaults: MessagingDefaults = {}): MessagingConfig {
  const brokers = (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new Error('KAFKA_BROKERS must name at least one broker');
  const topicPrefix = env.KAFKA_TOPIC_PREFIX ?? '';
  const heartbeatIntervalMs = int(env.KAFKA_HEARTBEAT_INTERVAL_MS, 3_000);
  if (!/^[A-Za-z0-9._-]*$/.test(topicPrefix)) throw new Error(`KAFKA_TOPIC_PREFIX may hold only letters, digits, ".", "_" and "-", got "${topicPrefix}"`);
  return {
    service,
    topicPrefix,
    groupId: env.KAFKA_GROUP_ID?.trim() || `${topicPrefix}${service}`,
    brokers,
    partitionsConsumedConcurrently: int(env.KAFKA_PARTITIONS_CONCURRENCY, 6),
    sessionTimeoutMs: int(env.KAFKA_SESSION_TIMEOUT_MS, 10_000),
    heartbeatIntervalMs,
    fetchMaxWaitMs: Math.max(1, int(env.KAFKA_FETCH_MAX_WAIT_MS, Math.min(2_000, heartbeatIntervalMs))),
    handlerAttempts: int(env.HANDLER_ATTEMPTS, 5),
    handlerBackoff: { initialMs: int(env.HANDLER_BACKOFF_MS, 100), factor: 2, maxMs: int(env.HANDLER_BACKOFF_MAX_MS, 5_000), jitter: 0.2 },
    outboxPollMs: int(env.OUTBOX_POLL_MS, 5_000),
    outboxBatchSize: int(env.OUTBOX_BATCH_SIZE, 500),
    outboxRetentionMs: int(env.OUTBOX_RETENTION_MS, 3_600_000),
    inboxRetentionMs: int(env.INBOX_RETENTION_MS, 7 * 24 * 3_600_000),
    retentionBatchSize: Math.max(1, int(env.RETENTION_BATCH_SIZE, 1_000)),
    retentionIntervalMs: int(env.RETENTION_INTERVAL_MS, 60_000),
    batchSize: Math.max(1, int(env.MESSAGING_BATCH_SIZE, defaults.batchSize ?? 1)),
  };
}
