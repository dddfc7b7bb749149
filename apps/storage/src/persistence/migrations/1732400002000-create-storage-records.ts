import type { MigrationInterface, QueryRunner } from 'typeorm';

/** One row per site that storage has provisioned. Never edited once merged. */
export class CreateStorageRecords1732400002000 implements MigrationInterface {
  name = 'CreateStorageRecords1732400002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE storage_records (
        site_id    uuid        PRIMARY KEY,
        path       text        NOT NULL,
        status     text        NOT NULL CHECK (status IN ('PROVISIONED', 'DEPROVISIONED')),
        saga_id    uuid        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE storage_records`);
  }
}
