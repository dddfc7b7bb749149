import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operators' bulk operations (one row each, its selected sagas in a child table, in the
 * order they are handled) and the audit log of every operator action. Every text is
 * bounded by a CHECK, so nothing an operator sends can grow a row without limit.
 * Never edited once merged.
 */
export class BulkOperationsAndAuditLog1764720000000 implements MigrationInterface {
  name = 'BulkOperationsAndAuditLog1764720000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE admin_bulk_operations (
        id              uuid        PRIMARY KEY,
        action          text        NOT NULL CHECK (action IN ('retry', 'abort')),
        status          text        NOT NULL CHECK (status IN ('running', 'completed', 'cancelled')),
        operator        text        NOT NULL CHECK (length(operator) BETWEEN 1 AND 64),
        filter          jsonb       NOT NULL CHECK (octet_length(filter::text) <= 2000),
        filter_key      text        NOT NULL CHECK (length(filter_key) <= 2100),
        reason          text        CHECK (length(reason) <= 500),
        rate_per_second integer     NOT NULL CHECK (rate_per_second BETWEEN 1 AND 100),
        selected        integer     NOT NULL,
        done            integer     NOT NULL DEFAULT 0,
        skipped         integer     NOT NULL DEFAULT 0,
        failed          integer     NOT NULL DEFAULT 0,
        interruptions   integer     NOT NULL DEFAULT 0,
        runner          text        CHECK (length(runner) <= 100),
        heartbeat_at    timestamptz,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        finished_at     timestamptz
      )`);
    // One running bulk per action and filter, over every replica.
    await queryRunner.query(`CREATE UNIQUE INDEX admin_bulk_operations_running_filter_idx ON admin_bulk_operations (filter_key) WHERE status = 'running'`);
    await queryRunner.query(`CREATE INDEX admin_bulk_operations_created_at_idx ON admin_bulk_operations (created_at, id)`);
    await queryRunner.query(`
      CREATE TABLE admin_bulk_operation_items (
        bulk_id  uuid        NOT NULL REFERENCES admin_bulk_operations (id) ON DELETE CASCADE,
        position integer     NOT NULL,
        saga_id  uuid        NOT NULL,
        outcome  text        NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'done', 'skipped', 'failed')),
        detail   text        CHECK (length(detail) <= 300),
        at       timestamptz,
        PRIMARY KEY (bulk_id, position)
      )`);
    await queryRunner.query(`CREATE INDEX admin_bulk_operation_items_pending_idx ON admin_bulk_operation_items (bulk_id, position) WHERE outcome = 'pending'`);
    await queryRunner.query(`
      CREATE TABLE admin_audit_log (
        id        bigserial   PRIMARY KEY,
        at        timestamptz NOT NULL,
        operator  text        NOT NULL CHECK (length(operator) BETWEEN 1 AND 64),
        action    text        NOT NULL CHECK (action IN ('retry', 'abort', 'bulk-retry', 'bulk-abort', 'bulk-cancel')),
        outcome   text        NOT NULL CHECK (outcome IN ('accepted', 'refused', 'failed', 'started')),
        saga_id   uuid,
        bulk_id   uuid        REFERENCES admin_bulk_operations (id) ON DELETE SET NULL,
        filter    jsonb       CHECK (octet_length(filter::text) <= 2000),
        reason    text        CHECK (length(reason) <= 500),
        detail    text        CHECK (length(detail) <= 500)
      )`);
    await queryRunner.query(`CREATE INDEX admin_audit_log_operator_idx ON admin_audit_log (operator, id)`);
    await queryRunner.query(`CREATE INDEX admin_audit_log_saga_id_idx ON admin_audit_log (saga_id) WHERE saga_id IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE admin_audit_log`);
    await queryRunner.query(`DROP TABLE admin_bulk_operation_items`);
    await queryRunner.query(`DROP TABLE admin_bulk_operations`);
  }
}
