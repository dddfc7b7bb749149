import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Failed admin sign-ins per client address, shared by every replica (failed-attempts.ts). Never edited once merged. */
export class AdminFailedAttempts1764750000000 implements MigrationInterface {
  name = 'AdminFailedAttempts1764750000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE admin_failed_attempts (address text PRIMARY KEY, failures timestamptz[] NOT NULL, updated_at timestamptz NOT NULL)`);
    await queryRunner.query(`CREATE INDEX admin_failed_attempts_updated_at_idx ON admin_failed_attempts (updated_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE admin_failed_attempts`);
  }
}
