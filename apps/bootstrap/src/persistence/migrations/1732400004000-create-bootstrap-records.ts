import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Bootstrap records: one row per bootstrapped site. Never edited once merged. */
export class CreateBootstrapRecords1732400004000 implements MigrationInterface {
  name = 'CreateBootstrapRecords1732400004000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE bootstrap_records (
        site_id           uuid        PRIMARY KEY,
        status            text        NOT NULL CHECK (status IN ('BOOTSTRAPPED')),
        admin_user        text        NOT NULL,
        bootstrap_version text        NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE bootstrap_records`);
  }
}
