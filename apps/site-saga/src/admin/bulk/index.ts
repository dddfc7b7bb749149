import { AuditLog } from './audit-log';
import { bulkMetricsProvider } from './bulk-metrics';
import { BulkOperations } from './bulk-operations';
import { BulkRunner } from './bulk-runner';

export { AuditLog } from './audit-log';
export { BulkController } from './bulk.controller';
export { BulkPageController } from './bulk-page.controller';
export { BulkRunner } from './bulk-runner';

/** What AdminModule provides for bulk operations and the audit log. */
export const BULK_PROVIDERS = [bulkMetricsProvider, AuditLog, BulkRunner, BulkOperations];
