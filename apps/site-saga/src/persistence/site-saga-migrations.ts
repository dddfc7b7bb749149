import { SAGA_MIGRATIONS } from '@sitesaga/saga';
import { IndexOutboxMessageId1764590000000 } from './migrations/1764590000000-index-outbox-message-id';
import { RetentionAndStreamIndexes1764600000000 } from './migrations/1764600000000-retention-and-stream-indexes';
import { AdminRevokedSessions1764600000100 } from './migrations/1764600000100-admin-revoked-sessions';
import { InventoryAndOrphanRepairs1764710000200 } from './migrations/1764710000200-inventory-and-orphan-repairs';
import { BulkOperationsAndAuditLog1764720000000 } from './migrations/1764720000000-bulk-operations-and-audit-log';
import { AdminFailedAttempts1764750000000 } from './migrations/1764750000000-admin-failed-attempts';
import { AdminRecordsRetention1764760000000 } from './migrations/1764760000000-admin-records-retention';
import { AuditOrphanRepairs1764770000100 } from './migrations/1764770000100-audit-orphan-repairs';

/** The orchestrator's migrations after the messaging tables: the engine's, then its own. */
export const SITE_SAGA_MIGRATIONS = [
  ...SAGA_MIGRATIONS,
  IndexOutboxMessageId1764590000000,
  RetentionAndStreamIndexes1764600000000,
  AdminRevokedSessions1764600000100,
  InventoryAndOrphanRepairs1764710000200,
  BulkOperationsAndAuditLog1764720000000,
  AdminFailedAttempts1764750000000,
  AdminRecordsRetention1764760000000,
  AuditOrphanRepairs1764770000100,
] as const;
