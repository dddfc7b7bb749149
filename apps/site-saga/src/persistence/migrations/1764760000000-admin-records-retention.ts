import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operators' records age out (timers/saga-history-retention.ts, ADMIN_RECORDS_RETENTION_MS):
 * the audit log is pruned by `at`, oldest first, which needs an index on it (orphan_repairs
 * and admin_bulk_operations have theirs). Never edited once merged.
 */
export class AdminRecordsRetention1764760000000 implements MigrationInterface {
  name = 'AdminRecordsRetention1764760000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS admin_audit_log_at_idx ON admin_audit_log (at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS admin_audit_log_at_idx`);
  }
}
