import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The saga that bootstrapped the site (as storage and sites record theirs), for the orphan
 * audit and the site view. Null for records written before it. Never edited once merged.
 */
export class BootstrapRecordsSagaId1764710000100 implements MigrationInterface {
  name = 'BootstrapRecordsSagaId1764710000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE bootstrap_records ADD COLUMN IF NOT EXISTS saga_id uuid`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE bootstrap_records DROP COLUMN IF EXISTS saga_id`);
  }
}
