import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Database records: one row per site, the password encrypted. Never edited once merged. */
export class CreateDatabaseRecords1732400003000 implements MigrationInterface {
  name = 'CreateDatabaseRecords1732400003000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE database_records (
        site_id            uuid        PRIMARY KEY,
        database_name      text        NOT NULL CHECK (database_name ~ '^site_[0-9a-f]{32}$'),
        role_name          text        NOT NULL CHECK (role_name ~ '^site_[0-9a-f]{32}$'),
        password_encrypted text,
        status             text        NOT NULL CHECK (status IN ('PROVISIONED', 'DROPPED')),
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        CHECK (status = 'DROPPED' OR password_encrypted IS NOT NULL)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE database_records`);
  }
}
