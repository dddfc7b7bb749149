import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { KAFKA, KafkaEnvelopeServer, LOGGER, OutboxRelay } from '@sitesaga/messaging';

type Check = { status: 'up' | 'down' };
type Report = { status: 'ok' | 'error'; checks: Record<string, Check & Record<string, unknown>> };

/**
 * How long the consumer may stay down while the broker answers before the process is
 * reported not-live: its restarts (kafkajs' own, then this transport's, with backoff up to
 * 30 s) had several chances. A broker outage never counts: restarting the pod cannot help.
 */
const consumerDownLimitMs = (): number => Number(process.env.HEALTH_CONSUMER_DOWN_LIMIT_MS || 180_000);
/** A relay round (read, publish, mark) longer than this while Kafka and the database answer is wedged. */
const relayWedgedMs = (): number => Number(process.env.HEALTH_RELAY_WEDGED_MS || 600_000);

/**
 * Readiness (`GET /health`): the database and Kafka answer and the consumer is in its
 * group — 503 otherwise, so traffic and rollouts wait. Liveness (`GET /health/live`): 503
 * only when the consumer loop or the relay loop is dead or wedged and cannot recover on
 * its own — an outage of the broker or the database is not a reason to kill the process.
 * Responses say `up`/`down` per dependency; error texts (hosts, roles) go to the log only.
 */
@Controller('health')
export class HealthController {
  private kafkaCheckedAt = 0;
  private kafkaStatus: Check = { status: 'down' };
  private readonly logged = new Map<string, string>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly server: KafkaEnvelopeServer,
    private readonly relay: OutboxRelay,
  ) {}

  @Get()
  async health(): Promise<Report> {
    const [database, kafka] = await Promise.all([this.checkDatabase(), this.checkKafka()]);
    const consumer = this.server.health();
    const relay = this.relay.health();
    const checks = {
      database,
      kafka,
      consumer: { status: consumer.state === 'running' ? 'up' : 'down', state: consumer.state, restarts: consumer.restarts } as const,
      relay: { status: relay.loopAlive && relay.state !== 'failing' ? 'up' : 'down', state: relay.state } as const,
    };
    // The relay is left out of readiness: a standby or failing relay does not stop this
    // replica from consuming, and its failures are the database's or Kafka's, checked here.
    if (database.status === 'down' || kafka.status === 'down' || checks.consumer.status === 'down') {
      throw new HttpException({ status: 'error', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: 'ok', checks };
  }

  @Get('live')
  async live(): Promise<Report> {
    const consumer = this.server.health();
    const relay = this.relay.health();
    const downFor = consumer.downSince === null ? 0 : Date.now() - consumer.downSince;
    // Only a consumer that stays down while the broker answers, or a relay round stuck
    // while both answer, is wedged; ask the dependencies only then (probes stay cheap).
    const [downLimit, wedged] = [consumerDownLimitMs(), relayWedgedMs()];
    const suspicious = (consumer.state !== 'stopped' && downFor > downLimit) || relay.busyForMs > wedged;
    const [database, kafka] = suspicious
      ? await Promise.all([this.checkDatabase(), this.checkKafka()])
      : [{ status: 'up' as const }, { status: 'up' as const }];
    const consumerDead = consumer.state !== 'stopped' && downFor > downLimit && kafka.status === 'up';
    const relayDead = !relay.loopAlive || (relay.busyForMs > wedged && kafka.status === 'up' && database.status === 'up');
    const checks = {
      consumer: { status: consumerDead ? 'down' : 'up', state: consumer.state } as const,
      relay: { status: relayDead ? 'down' : 'up', state: relay.state } as const,
    };
    if (consumerDead || relayDead) {
      this.logger.error({ consumer, relay, kafka: kafka.status, database: database.status }, 'liveness check failed: a messaging loop is dead or wedged');
      throw new HttpException({ status: 'error', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: 'ok', checks };
  }

  private async checkDatabase(): Promise<Check> {
    try {
      await this.dataSource.query('SELECT 1');
      this.logged.delete('database');
      return { status: 'up' };
    } catch (error) {
      this.logOnce('database', error);
      return { status: 'down' };
    }
  }

  /** A metadata round trip, cached for a few seconds so probes cost the broker little. */
  private async checkKafka(): Promise<Check> {
    if (Date.now() - this.kafkaCheckedAt < 5_000) return this.kafkaStatus;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      this.kafkaStatus = { status: 'up' };
      this.logged.delete('kafka');
    } catch (error) {
      this.logOnce('kafka', error);
      this.kafkaStatus = { status: 'down' };
    } finally {
      this.kafkaCheckedAt = Date.now();
      await admin.disconnect().catch(() => undefined);
    }
    return this.kafkaStatus;
  }

  /** Probes run every few seconds: log a failing dependency when its error changes, not each time. */
  private logOnce(dependency: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.logged.get(dependency) === message) return;
    this.logged.set(dependency, message);
    this.logger.warn({ err: error, dependency }, `health check: ${dependency} is down`);
  }
}
