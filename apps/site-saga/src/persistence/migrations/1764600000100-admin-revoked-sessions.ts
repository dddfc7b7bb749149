import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Signed-out admin sessions, refused by every replica until they expire. Never edited once merged. */
export class AdminRevokedSessions1764600000100 implements MigrationInterface {
  name = 'AdminRevokedSessions1764600000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE admin_revoked_sessions (session_id text PRIMARY KEY, expires_at timestamptz NOT NULL)`);
    await queryRunner.query(`CREATE INDEX admin_revoked_sessions_expires_at_idx ON admin_revoked_sessions (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE admin_revoked_sessions`);
  }
}
