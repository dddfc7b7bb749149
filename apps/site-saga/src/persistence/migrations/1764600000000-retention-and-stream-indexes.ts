import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin's live stream asks every 500 ms for `saga_instances` changed since a time
 * (`updated_at > $1 ORDER BY updated_at`), which read the whole table without an index;
 * history retention finds old entries by `saga_history.at`. Never edited once merged.
 */
export class RetentionAndStreamIndexes1764600000000 implements MigrationInterface {
  name = 'RetentionAndStreamIndexes1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS saga_instances_updated_at_idx ON saga_instances (updated_at)`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS saga_history_at_idx ON saga_history (at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS saga_history_at_idx`);
    await queryRunner.query(`DROP INDEX IF EXISTS saga_instances_updated_at_idx`);
  }
}
