import type { BulkFilter, BulkOperation } from '@sitesaga/http-contracts';

/** The columns of admin_bulk_operations a view needs (alias `b`). */
export const BULK_COLUMNS = `b.id, b.action, b.status, b.operator, b.filter, b.reason, b.rate_per_second, b.selected, b.done, b.skipped, b.failed, b.interruptions, b.created_at, b.updated_at, b.finished_at`;

export interface BulkRow {
  id: string;
  action: BulkOperation['action'];
  status: BulkOperation['status'];
  operator: string;
  filter: BulkFilter;
  reason: string | null;
  rate_per_second: number;
  selected: number;
  done: number;
  skipped: number;
  failed: number;
  interruptions: number;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export const bulkViewOf = (row: BulkRow): BulkOperation => ({
  id: row.id,
  action: row.action,
  status: row.status,
  operator: row.operator,
  filter: row.filter,
  reason: row.reason,
  ratePerSecond: row.rate_per_second,
  selected: row.selected,
  done: row.done,
  skipped: row.skipped,
  failed: row.failed,
  pending: Math.max(0, row.selected - row.done - row.skipped - row.failed),
  interruptions: row.interruptions,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  finishedAt: row.finished_at?.toISOString() ?? null,
});
