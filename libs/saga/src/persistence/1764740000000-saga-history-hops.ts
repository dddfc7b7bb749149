import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-hop timing of received messages (HistoryHops): a nullable jsonb column, written in
 * the same statement as the history row (no extra round trip). Adding a nullable column
 * without a default rewrites nothing.
 */
export class SagaHistoryHops1764740000000 implements MigrationInterface {
  name = 'SagaHistoryHops1764740000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE saga_history ADD COLUMN IF NOT EXISTS hops jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE saga_history DROP COLUMN IF EXISTS hops`);
  }
}
