import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { RetentionPruner, type RetentionTarget } from '@sitesaga/messaging';

export const SAGA_HISTORY_RETENTION_MS = 'SAGA_HISTORY_RETENTION_MS';
export const ADMIN_RECORDS_RETENTION_MS = 'ADMIN_RECORDS_RETENTION_MS';

/**
 * The history of a saga that ended (COMPLETED, COMPENSATED, FAILED) longer ago than the
 * retention: its entries go, oldest first, in the pruner's small batches. A running or
 * compensating saga keeps all of its history, however old; the saga row and its steps stay.
 */
export const sagaHistoryRetention = (maxAgeMs: number): RetentionTarget => ({
  table: 'saga_history',
  maxAgeMs,
  deleteBatch: `DELETE FROM saga_history WHERE id IN (
      SELECT h.id FROM saga_history h JOIN saga_instances i ON i.id = h.saga_id
       WHERE h.at < now() - make_interval(secs => $1) AND i.status IN ('COMPLETED', 'COMPENSATED', 'FAILED')
       ORDER BY h.at LIMIT $2 FOR UPDATE OF h SKIP LOCKED)
    RETURNING 1`,
});

/** A signed-out session's row outlives the session by a day at most: its cookie is refused by expiry then. */
export const expiredSessionRevocations: RetentionTarget = {
  table: 'admin_revoked_sessions',
  maxAgeMs: 24 * 3_600_000,
  deleteBatch: `DELETE FROM admin_revoked_sessions WHERE session_id IN (
      SELECT session_id FROM admin_revoked_sessions WHERE expires_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING 1`,
};

/** An address's failed sign-ins (admin/failed-attempts.ts) idle for a day: far outside any throttle window. */
export const failedAttemptsRetention: RetentionTarget = {
  table: 'admin_failed_attempts',
  maxAgeMs: 24 * 3_600_000,
  deleteBatch: `DELETE FROM admin_failed_attempts WHERE address IN (
      SELECT address FROM admin_failed_attempts WHERE updated_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING 1`,
};

/**
 * What operators did, kept for `maxAgeMs` (ADMIN_RECORDS_RETENTION_MS, default 365 days) and
 * no longer, so that the tables an operator's requests fill stay bounded: the audit log
 * (by `at`), the orphan repairs asked for, and the bulk operations that finished (their
 * items go with them, ON DELETE CASCADE; an audit row naming one keeps its bulk_id as
 * NULL). A running bulk operation is never pruned, however old.
 */
export const adminRecordsRetention = (maxAgeMs: number): RetentionTarget[] => [
  ...['admin_audit_log', 'orphan_repairs'].map((table) => ({
    table,
    maxAgeMs,
    deleteBatch: `DELETE FROM ${table} WHERE id IN (
        SELECT id FROM ${table} WHERE at < now() - make_interval(secs => $1) ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING 1`,
  })),
  {
    table: 'admin_bulk_operations',
    maxAgeMs,
    // created_at ≤ finished_at: the created_at index finds the candidates.
    deleteBatch: `DELETE FROM admin_bulk_operations WHERE id IN (
        SELECT id FROM admin_bulk_operations
         WHERE created_at < now() - make_interval(secs => $1) AND status <> 'running' AND finished_at < now() - make_interval(secs => $1)
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING 1`,
  },
];

@Injectable()
export class SagaHistoryRetention implements OnModuleInit {
  constructor(
    private readonly pruner: RetentionPruner,
    @Inject(SAGA_HISTORY_RETENTION_MS) private readonly maxAgeMs: number,
    @Inject(ADMIN_RECORDS_RETENTION_MS) private readonly adminRecordsMaxAgeMs: number,
  ) {}

  onModuleInit(): void {
    this.pruner.add(sagaHistoryRetention(this.maxAgeMs));
    this.pruner.add(expiredSessionRevocations);
    this.pruner.add(failedAttemptsRetention);
    for (const target of adminRecordsRetention(this.adminRecordsMaxAgeMs)) this.pruner.add(target);
  }
}
