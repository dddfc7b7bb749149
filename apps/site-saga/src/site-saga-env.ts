import { numberAboveEnv, SERVICE_ENV, wholeNumberEnv } from '@sitesaga/service';
import { z } from 'zod';

/** Every variable the orchestrator reads: the chassis' and its own (siteSagaConfigFromEnv turns them into its config). */
export const SITE_SAGA_ENV = SERVICE_ENV.extend({
  ADMIN_TOKEN: z.string({ required_error: 'is required: a secret of at least 16 characters' }).min(16, 'must be a secret of at least 16 characters'),
  SAGA_TIME_SCALE: numberAboveEnv(0, 100),
  SAGA_TIMER_INTERVAL_MS: wholeNumberEnv(10),
  ADMIN_MAX_FAILED_ATTEMPTS: wholeNumberEnv(1),
  SAGA_HISTORY_RETENTION_MS: wholeNumberEnv(0),
  ADMIN_RECORDS_RETENTION_MS: wholeNumberEnv(1),
  // The orphan audit (inventory/inventory-options.ts).
  ORPHAN_AUDIT_PAGE_SIZE: wholeNumberEnv(1, 200),
  ORPHAN_AUDIT_MAX_ITEMS: wholeNumberEnv(1),
  ORPHAN_AUDIT_REPLY_TIMEOUT_MS: wholeNumberEnv(100),
  ORPHAN_AUDIT_INTERVAL_MS: wholeNumberEnv(0),
});
