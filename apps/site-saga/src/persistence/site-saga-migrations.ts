import { SAGA_MIGRATIONS } from '@sitesaga/saga';
import { IndexOutboxMessageId1764590000000 } from './migrations/1764590000000-index-outbox-message-id';
import { RetentionAndStreamIndexes1764600000000 } from './migrations/1764600000000-retention-and-stream-indexes';
import { AdminRevokedSessions1764600000100 } from './migrations/1764600000100-admin-revoked-sessions';
import { InventoryAndOrphanRepairs1764710000200 } from './migrations/1764710000200-inventory-and-orphan-repairs';

/** The orchestrator's migrations after the messaging tables: the engine's, then its own. */
export const SITE_SAGA_MIGRATIONS = [
  ...SAGA_MIGRATIONS,
  IndexOutboxMessageId1764590000000,
  RetentionAndStreamIndexes1764600000000,
  AdminRevokedSessions1764600000100,
  InventoryAndOrphanRepairs1764710000200,
] as const;
