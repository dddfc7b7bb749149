import { asyncApiDocument } from '@sitesaga/contracts';
import { ADMIN_API, type HttpApi, INVENTORY_API, withBulkOperations } from '@sitesaga/http-contracts';
import type { ApiDocsOptions } from '@sitesaga/service';

/**
 * The orchestrator's HTTP docs: the admin API, generated from its zod shapes in
 * libs/http-contracts (admin-api.ts; checked against real answers by
 * site-saga-api-docs.int-spec.ts), and the AsyncAPI document of every Kafka message.
 */
export const SITE_SAGA_API_DOCS: ApiDocsOptions = { api: withInventory(withBulkOperations(ADMIN_API)), extraDocuments: { 'asyncapi.json': asyncApiDocument } };

/** The admin API with the orphan audit and site view routes (libs/http-contracts/src/inventory-api.ts). */
function withInventory(api: HttpApi): HttpApi {
  return {
    ...api,
    tags: [...api.tags, ...INVENTORY_API.tags],
    register(registry) {
      api.register(registry);
      INVENTORY_API.register(registry);
    },
  };
}
