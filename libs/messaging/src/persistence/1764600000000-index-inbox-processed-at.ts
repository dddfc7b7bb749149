import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention prunes inbox rows by age (RetentionPruner): without an index on processed_at
 * every round would read the whole inbox. Never edited once merged.
 */
export class IndexInboxProcessedAt1764600000000 implements MigrationInterface {
  name = 'IndexInboxProcessedAt1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS inbox_messages_processed_at_idx ON inbox_messages (processed_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS inbox_messages_processed_at_idx`);
  }
}
