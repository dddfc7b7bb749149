import { z } from 'zod';
import { SASL_MECHANISMS } from '@sitesaga/messaging';

/**
 * The environment a service reads, as one zod schema per service: the chassis' variables
 * below (SERVICE_ENV), extended by each service with its own (`SITES_ENV`, `STORAGE_ENV`…).
 * `runService` validates the whole environment against it before anything starts, and a
 * service with bad values exits listing every error at once — not the first one, then the
 * next after a restart. The values stay strings here (the parsers that turn them into
 * config objects — messagingConfigFromEnv, siteSagaConfigFromEnv… — read them after this
 * gate, and keep their defaults); the schema says what a valid value is, and names every
 * variable a service reads.
 */

const optional = (check: z.ZodTypeAny) => z.preprocess((value) => (value === '' ? undefined : value), check.optional());

/** An optional whole number in [min, max], given as text. */
export const wholeNumberEnv = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  optional(
    z
      .string()
      .trim()
      .refine(
        (text) => /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max,
        `must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}`,
      ),
  );

/** An optional number in (min, max], given as text. */
export const numberAboveEnv = (min: number, max: number) =>
  optional(
    z
      .string()
      .trim()
      .refine((text) => /^\d+(\.\d+)?$/.test(text) && Number(text) > min && Number(text) <= max, `must be a number above ${min} and at most ${max}`),
  );

/** An optional value that `valid` accepts (`message` says what a valid one is; the value is never echoed). */
export const checkedEnv = (valid: (text: string) => boolean, message: string) => optional(z.string().refine(valid, message));

/** An optional connection URL. */
export const urlEnv = (protocols: readonly string[]) =>
  optional(
    z.string().refine((text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    }, `must be a URL (${protocols.join(' or ')}//…)`),
  );

const postgresUrl = urlEnv(['postgres:', 'postgresql:']);

/** What every service reads: Kafka, its database, HTTP, logging, health limits, fault injection. */
export const SERVICE_ENV = z.object({
  NODE_ENV: optional(z.string()),
  PORT: wholeNumberEnv(0, 65_535),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
  KAFKA_BROKERS: optional(z.string().refine((text) => text.split(',').some((broker) => broker.trim() !== ''), 'must name at least one broker (host:port, comma-separated)')),
  KAFKA_TOPIC_PREFIX: optional(z.string().regex(/^[A-Za-z0-9._-]*$/, 'may hold only letters, digits, ".", "_" and "-"')),
  KAFKA_GROUP_ID: optional(z.string()),
  // The service's broker principal (infra/kafka-acls.md); checked together where they are read.
  KAFKA_SASL_MECHANISM: checkedEnv((text) => (SASL_MECHANISMS as readonly string[]).includes(text.trim().toLowerCase()), `must be one of ${SASL_MECHANISMS.join(', ')}`),
  KAFKA_SASL_USERNAME: optional(z.string()),
  KAFKA_SASL_PASSWORD: optional(z.string()),
  KAFKA_SSL: optional(z.enum(['0', '1'], { message: 'must be 1 (TLS to the broker) or 0' })),
  KAFKA_PARTITIONS_CONCURRENCY: wholeNumberEnv(1),
  KAFKA_SESSION_TIMEOUT_MS: wholeNumberEnv(1),
  KAFKA_HEARTBEAT_INTERVAL_MS: wholeNumberEnv(1),
  KAFKA_FETCH_MAX_WAIT_MS: wholeNumberEnv(1),
  HANDLER_ATTEMPTS: wholeNumberEnv(1),
  HANDLER_BACKOFF_MS: wholeNumberEnv(0),
  HANDLER_BACKOFF_MAX_MS: wholeNumberEnv(0),
  OUTBOX_POLL_MS: wholeNumberEnv(1),
  OUTBOX_BATCH_SIZE: wholeNumberEnv(1),
  OUTBOX_RETENTION_MS: wholeNumberEnv(0),
  MESSAGING_BATCH_SIZE: wholeNumberEnv(1),
  MESSAGING_HOP_TIMING_FILE: optional(z.string()),
  NODE_HEAP_GROWTH_PERCENT: wholeNumberEnv(0, 400),
  // Read only to see whether node was given --heap-growing-percent (heap.ts); node parses it.
  NODE_OPTIONS: optional(z.string()),
  // OpenTelemetry (off unless an OTLP endpoint is set); the SDK reads the other OTEL_* variables itself.
  OTEL_EXPORTER_OTLP_ENDPOINT: urlEnv(['http:', 'https:']),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: urlEnv(['http:', 'https:']),
  OTEL_SDK_DISABLED: optional(z.enum(['true', 'false'], { message: 'must be true or false' })),
  OTEL_TRACES_EXPORTER: optional(z.string()),
  OTEL_SERVICE_NAME: optional(z.string().max(200)),
  OTEL_BSP_SCHEDULE_DELAY: wholeNumberEnv(1),
  HEALTH_CONSUMER_DOWN_LIMIT_MS: wholeNumberEnv(1),
  HEALTH_RELAY_WEDGED_MS: wholeNumberEnv(1),
  DATABASE_URL: postgresUrl,
  DATABASE_NAME_PREFIX: optional(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier prefix (letters, digits, "_")')),
  DATABASE_POOL_SIZE: wholeNumberEnv(1),
  FAULTS: optional(z.string()),
  // Fault injection exists only with FAULTS_ENABLED=1 (never in production), behind the operator tokens.
  FAULTS_ENABLED: optional(z.enum(['0', '1'], { message: 'must be 1 (on) or 0 (off)' })),
  // The operators' tokens (the admin endpoint, every site, /faults): checked for strength where they are read.
  ADMIN_TOKEN: optional(z.string()),
  ADMIN_TOKENS: optional(z.string()),
  // Retention of inbox rows (and, in the orchestrator, of ended sagas' history).
  INBOX_RETENTION_MS: wholeNumberEnv(0),
  RETENTION_BATCH_SIZE: wholeNumberEnv(1),
  RETENTION_INTERVAL_MS: wholeNumberEnv(0),
});

export type ServiceEnvSchema = z.ZodTypeAny;

/** An environment that does not pass its service's schema: every error, one a line. */
export class InvalidEnvironment extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid environment (${problems.length} ${problems.length === 1 ? 'error' : 'errors'}):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'InvalidEnvironment';
  }
}

/**
 * Checks `env` against a service's schema; throws InvalidEnvironment naming every bad
 * variable (never its value: it may be a secret). Variables the schema does not name pass.
 */
export function validateEnvironment(schema: ServiceEnvSchema, env: NodeJS.ProcessEnv = process.env): void {
  const result = schema.safeParse(env);
  if (result.success) return;
  throw new InvalidEnvironment(result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
}
