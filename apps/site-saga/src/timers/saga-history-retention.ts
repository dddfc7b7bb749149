import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { RetentionPruner, type RetentionTarget } from '@sitesaga/messaging';

export const SAGA_HISTORY_RETENTION_MS = 'SAGA_HISTORY_RETENTION_MS';

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

@Injectable()
export class SagaHistoryRetention implements OnModuleInit {
  constructor(
    private readonly pruner: RetentionPruner,
    @Inject(SAGA_HISTORY_RETENTION_MS) private readonly maxAgeMs: number,
  ) {}

  onModuleInit(): void {
    this.pruner.add(sagaHistoryRetention(this.maxAgeMs));
    this.pruner.add(expiredSessionRevocations);
    this.pruner.add(failedAttemptsRetention);
  }
}
