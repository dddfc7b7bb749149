import { asyncApiDocument } from '@sitesaga/contracts';
import { ADMIN_API, withBulkOperations } from '@sitesaga/http-contracts';
import type { ApiDocsOptions } from '@sitesaga/service';

/**
 * The orchestrator's HTTP docs: the admin API, generated from its zod shapes in
 * libs/http-contracts (admin-api.ts; checked against real answers by
 * site-saga-api-docs.int-spec.ts), and the AsyncAPI document of every Kafka message.
 */
export const SITE_SAGA_API_DOCS: ApiDocsOptions = { api: withBulkOperations(ADMIN_API), extraDocuments: { 'asyncapi.json': asyncApiDocument } };
