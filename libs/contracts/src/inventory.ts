import { z } from 'zod';
import { type CommandDefinition, defineCommand, defineEvent, failureFields } from '@sitesaga/message-kit';
import { type Topic, Topics } from './topics';

/*
 * Inventory: what each participant holds, asked for by the orchestrator's orphan audit and
 * site view over Kafka (request/reply), never by reading another service's database. One
 * command per participant (a command lands on its owner's topic), each answered by one
 * page of items: the orchestrator asks again with the page's `nextCursor` until it is null.
 *
 * A page is bounded far under the broker's 1 MB record limit: at most INVENTORY_PAGE_MAX
 * items of at most ~2 KB each (every text field is capped, and a name's JSON escaping at
 * most sextuples its 255 characters).
 */

/** Items per page: the most a command may ask for. */
export const INVENTORY_PAGE_MAX = 200;

/** What each participant can list. */
export const INVENTORY_SOURCES = {
  sites: ['records'],
  storage: ['records', 'directories'],
  databases: ['records', 'databases', 'roles'],
  bootstrap: ['records'],
} as const;
export type InventoryOwner = keyof typeof INVENTORY_SOURCES;
export type InventorySource<O extends InventoryOwner = InventoryOwner> = (typeof INVENTORY_SOURCES)[O][number];

const requestId = z.string().uuid();
const cursor = z.string().min(1).max(300);

/**
 * One thing a participant holds: a record of its table, a directory under STORAGE_ROOT, a
 * database or role on the site server. `name` is what it is called where it lives (the
 * site id of a record, a directory's or database's name); `siteId` the site it belongs to
 * (null when its name names none); `sagaId` the saga that last changed it, when recorded.
 */
export const inventoryItem = z
  .object({
    name: z.string().min(1).max(255),
    siteId: z.string().uuid().nullable(),
    status: z.string().max(32).nullable(),
    sagaId: z.string().uuid().nullable(),
    /** A site record's name and domain (sites only). */
    siteName: z.string().max(63).nullable().optional(),
    domain: z.string().max(253).nullable().optional(),
    /** When the record last changed (records only). */
    updatedAt: z.string().max(40).nullable().optional(),
  })
  .strict();
export type InventoryItem = z.infer<typeof inventoryItem>;

/**
 * Only the items of one site: by its id (every participant), or by its name or domain
 * (sites alone; the others list nothing for a match without a site id).
 */
export const inventoryMatch = z
  .object({ siteId: z.string().uuid().optional(), name: z.string().min(1).max(63).optional(), domain: z.string().min(1).max(253).optional() })
  .strict();
export type InventoryMatch = z.infer<typeof inventoryMatch>;

const inventoryFailure = z.object({ requestId, ...failureFields }).strict();

function inventoryCommand<T extends string, O extends InventoryOwner>(spec: {
  type: T;
  owner: O;
  commands: Topic;
  events: Topic;
  reported: string;
  failed: string;
}) {
  const source = z.enum(INVENTORY_SOURCES[spec.owner] as unknown as [InventorySource<O>, ...InventorySource<O>[]]);
  const schema = z
    .object({ requestId, source, after: cursor.nullable(), limit: z.number().int().min(1).max(INVENTORY_PAGE_MAX), match: inventoryMatch.optional() })
    .strict();
  const reported = defineEvent({
    type: spec.reported,
    topic: spec.events,
    schema: z.object({ requestId, source, items: z.array(inventoryItem).max(INVENTORY_PAGE_MAX), nextCursor: cursor.nullable() }).strict(),
  });
  const failed = defineEvent({ type: spec.failed, topic: spec.events, schema: inventoryFailure });
  const definition: CommandDefinition<T, z.infer<typeof schema>, z.infer<typeof reported.schema>, z.infer<typeof inventoryFailure>> = defineCommand({
    type: spec.type,
    topic: spec.commands,
    schema,
    succeeded: reported,
    failed,
    failure: (payload, failure) => ({ requestId: payload.requestId, ...failure, reasons: failure.reasons && [...failure.reasons] }),
  });
  return definition;
}

export const ReportSiteInventory = inventoryCommand({
  type: 'ReportSiteInventory',
  owner: 'sites',
  commands: Topics.sitesCommands,
  events: Topics.sitesEvents,
  reported: 'SiteInventoryReported',
  failed: 'SiteInventoryReportFailed',
});
export const ReportStorageInventory = inventoryCommand({
  type: 'ReportStorageInventory',
  owner: 'storage',
  commands: Topics.storageCommands,
  events: Topics.storageEvents,
  reported: 'StorageInventoryReported',
  failed: 'StorageInventoryReportFailed',
});
export const ReportDatabaseInventory = inventoryCommand({
  type: 'ReportDatabaseInventory',
  owner: 'databases',
  commands: Topics.databasesCommands,
  events: Topics.databasesEvents,
  reported: 'DatabaseInventoryReported',
  failed: 'DatabaseInventoryReportFailed',
});
export const ReportBootstrapInventory = inventoryCommand({
  type: 'ReportBootstrapInventory',
  owner: 'bootstrap',
  commands: Topics.bootstrapCommands,
  events: Topics.bootstrapEvents,
  reported: 'BootstrapInventoryReported',
  failed: 'BootstrapInventoryReportFailed',
});

/** The inventory command of each participant. */
export const INVENTORY_COMMANDS = {
  sites: ReportSiteInventory,
  storage: ReportStorageInventory,
  databases: ReportDatabaseInventory,
  bootstrap: ReportBootstrapInventory,
} as const;

/** Every reply (page or failure) of every inventory command. */
export const INVENTORY_REPLIES = Object.values(INVENTORY_COMMANDS).flatMap((command) => [command.succeeded, command.failed]);
