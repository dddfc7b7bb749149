import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An orphan repair (inventory/orphan-repair.ts) is an operator's action like a retry: it
 * goes into the audit log too, as `orphan-repair`. Never edited once merged.
 */
export class AuditOrphanRepairs1764770000100 implements MigrationInterface {
  name = 'AuditOrphanRepairs1764770000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE admin_audit_log DROP CONSTRAINT admin_audit_log_action_check`);
    await queryRunner.query(
      `ALTER TABLE admin_audit_log ADD CONSTRAINT admin_audit_log_action_check CHECK (action IN ('retry', 'abort', 'bulk-retry', 'bulk-abort', 'bulk-cancel', 'orphan-repair'))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM admin_audit_log WHERE action = 'orphan-repair'`);
    await queryRunner.query(`ALTER TABLE admin_audit_log DROP CONSTRAINT admin_audit_log_action_check`);
    await queryRunner.query(`ALTER TABLE admin_audit_log ADD CONSTRAINT admin_audit_log_action_check CHECK (action IN ('retry', 'abort', 'bulk-retry', 'bulk-abort', 'bulk-cancel'))`);
  }
}
