import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { KAFKA } from './messaging.module.tokens';

type Check = { status: 'up' | 'down'; error?: string };

/** Liveness and readiness: the service's database and Kafka both answer. */
@Controller('health')
export class HealthController {
  private kafkaCheckedAt = 0;
  private kafkaStatus: Check = { status: 'down', error: 'not checked yet' };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(KAFKA) private readonly kafka: Kafka,
  ) {}

  @Get()
  async health(): Promise<{ status: 'ok'; checks: Record<string, Check> }> {
    const [database, kafka] = await Promise.all([this.checkDatabase(), this.checkKafka()]);
    const checks = { database, kafka };
    if (database.status === 'down' || kafka.status === 'down') {
      throw new HttpException({ status: 'error', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: 'ok', checks };
  }

  private async checkDatabase(): Promise<Check> {
    try {
      await this.dataSource.query('SELECT 1');
      return { status: 'up' };
    } catch (error) {
      return { status: 'down', error: (error as Error).message };
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
    } catch (error) {
      this.kafkaStatus = { status: 'down', error: (error as Error).message };
    } finally {
      this.kafkaCheckedAt = Date.now();
      await admin.disconnect().catch(() => undefined);
    }
    return this.kafkaStatus;
  }
}
