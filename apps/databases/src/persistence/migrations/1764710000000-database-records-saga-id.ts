import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The saga that last changed a database record (as storage and sites record theirs), so
 * that the orphan audit and the site view can name the saga that made what they find.
 * Null for records written before it. Never edited once merged.
 */
export class DatabaseRecordsSagaId1764710000000 implements MigrationInterface {
  name = 'DatabaseRecordsSagaId1764710000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE database_records ADD COLUMN IF NOT EXISTS saga_id uuid`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE database_records DROP COLUMN IF EXISTS saga_id`);
  }
}
