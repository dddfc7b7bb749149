import type { MessageDefinition } from '@sitesaga/message-kit';

/**
 * A valid sample payload for every message, for generated documents (AsyncAPI examples)
 * and tests. Messages whose payload is `{ siteId }` or a participant's failure need no
 * entry: the generic samples below fit them. A new message with other fields needs one
 * here (asyncapi.spec.ts fails until it has).
 */
const SITE_ID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const site = { siteId: SITE_ID, name: 'my-blog', domain: 'blog.example.com' };
const SEALED = 'v1.aXY.Y2lwaGVy.dGFn';

const EXAMPLES: Readonly<Record<string, unknown>> = {
  CreateSite: { name: 'my-blog', domain: 'blog.example.com', tagline: 'Notes from the road', adminEmail: 'owner@example.com' },
  SiteCreationStarted: site,
  SiteCreated: { ...site, url: 'https://blog.example.com' },
  SiteCreationRejected: { reasons: [{ field: 'name', message: 'is taken' }] },
  SiteCreationFailed: { siteId: SITE_ID, failedStep: 'ProvisionDatabase', reason: 'quota exceeded' },
  SiteDeletionFailed: { siteId: SITE_ID, failedStep: 'DropDatabase', reason: 'database is in use' },
  SiteDeletionRejected: { siteId: SITE_ID, reasons: [{ field: 'sagaId', message: 'names a saga that already exists' }] },
  SagaNeedsAttention: { siteId: SITE_ID, sagaType: 'CreateSite', step: 'DropDatabase', reason: 'compensation: connection refused (gave up after 5 attempts)' },
  ReserveSite: { ...site, tagline: 'Notes from the road', adminEmail: 'owner@example.com' },
  SiteReserved: site,
  SiteActivated: { siteId: SITE_ID, url: 'https://blog.example.com' },
  StorageProvisioned: { siteId: SITE_ID, path: '/srv/sites/3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
  DatabaseProvisioned: { siteId: SITE_ID, databaseName: 'site_3f2504e04f8911d39a0c0305e82c3301', roleName: 'site_3f2504e04f8911d39a0c0305e82c3301', credentials: SEALED },
  BootstrapSite: { ...site, adminEmail: 'owner@example.com', databaseName: 'site_3f2504e04f8911d39a0c0305e82c3301', credentials: SEALED },
  SiteBootstrapped: { siteId: SITE_ID, adminUser: 'admin' },
  ...inventoryExamples(),
};

const GENERIC: readonly unknown[] = [{ siteId: SITE_ID }, { siteId: SITE_ID, reason: 'connection refused', class: 'transient' }];

/** A payload `definition` accepts, or null when there is none here. */
export function examplePayloadOf(definition: MessageDefinition): unknown {
  const candidates = definition.type in EXAMPLES ? [EXAMPLES[definition.type]] : GENERIC;
  return candidates.find((candidate) => definition.schema.safeParse(candidate).success) ?? null;
}

/** The inventory request/reply of every participant (libs/contracts/src/inventory.ts). */
function inventoryExamples(): Record<string, unknown> {
  const requestId = '9b2e4f10-7d3c-4e5a-8b1f-2c3d4e5f6a7b';
  const sagaId = SITE_ID;
  const failure = { requestId, reason: 'connection refused', class: 'transient' };
  const item = (name: string, status: string | null) => ({ name, siteId: SITE_ID, status, sagaId });
  return {
    ReportSiteInventory: { requestId, source: 'records', after: null, limit: 200 },
    ReportStorageInventory: { requestId, source: 'directories', after: null, limit: 200 },
    ReportDatabaseInventory: { requestId, source: 'databases', after: null, limit: 200 },
    ReportBootstrapInventory: { requestId, source: 'records', after: null, limit: 200 },
    SiteInventoryReported: {
      requestId,
      source: 'records',
      items: [{ ...item(SITE_ID, 'ACTIVE'), siteName: 'my-blog', domain: 'blog.example.com', updatedAt: '2026-12-01T10:00:00.000Z' }],
      nextCursor: null,
    },
    StorageInventoryReported: { requestId, source: 'directories', items: [{ name: SITE_ID, siteId: SITE_ID, status: null, sagaId: null }], nextCursor: null },
    DatabaseInventoryReported: { requestId, source: 'databases', items: [item('site_3f2504e04f8911d39a0c0305e82c3301', null)], nextCursor: 'site_3f2504e04f8911d39a0c0305e82c3301' },
    BootstrapInventoryReported: { requestId, source: 'records', items: [item(SITE_ID, 'BOOTSTRAPPED')], nextCursor: null },
    SiteInventoryReportFailed: failure,
    StorageInventoryReportFailed: failure,
    DatabaseInventoryReportFailed: failure,
    BootstrapInventoryReportFailed: failure,
  };
}
