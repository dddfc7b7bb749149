import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { sagaStatus } from './admin-api';
import { errorAnswer } from './service-api';
import { SITE_STATUSES } from './sites-api';
import { type HttpApi, json, timestamp, z } from './zod-openapi';

/*
 * The orphan audit, its repair and the site view (issue #13): site-saga's admin routes
 * under /admin/orphans and /admin/sites. Same auth and error shape as the rest of the
 * admin API (admin-api.ts).
 */

/** What an orphan is: a thing some participant holds that no live site accounts for. */
export const ORPHAN_KINDS = ['directory', 'database', 'role', 'storage-record', 'database-record', 'bootstrap-record'] as const;
export const orphanKind = z.enum(ORPHAN_KINDS);
export type OrphanKind = z.infer<typeof orphanKind>;
/** The participant commands a repair may send: the saga's own compensations. */
export const REPAIR_COMMANDS = ['DeprovisionStorage', 'DropDatabase', 'ReleaseSite'] as const;
export const repairCommandType = z.enum(REPAIR_COMMANDS);

const sagaRef = z.object({ id: z.string().uuid(), type: z.string(), status: sagaStatus }).openapi('SagaRef', { description: 'A saga the orchestrator knows' });
const siteRef = z
  .object({ id: z.string().uuid(), name: z.string(), domain: z.string(), status: z.enum(SITE_STATUSES) })
  .openapi('SiteRef', { description: 'The site record (sites service)' });
export const repairCommand = z
  .object({ command: repairCommandType, siteId: z.string().uuid() })
  .openapi('RepairCommand', { description: 'One participant command the repair sends (through the outbox, to the participant’s commands topic)' });
export type RepairCommand = z.infer<typeof repairCommand>;

export const orphanItem = z
  .object({
    kind: orphanKind,
    name: z.string().openapi({ description: 'What it is called where it lives: a directory or database name, a record’s site id' }),
    siteId: z.string().uuid().nullable().openapi({ description: 'The site its name names; null when it names none (not the platform’s)' }),
    site: siteRef.nullable().openapi({ description: 'The site record, when there is one (then not live: FAILED or DELETED)' }),
    sagaId: z.string().uuid().nullable().openapi({ description: 'The saga that made or last changed it, as the participant recorded it' }),
    saga: sagaRef.nullable().openapi({ description: 'That saga, when the orchestrator knows it' }),
    reason: z.string(),
    repair: z.array(repairCommand).openapi({ description: 'What a repair sends for it; empty when no participant command undoes it (see hint)' }),
    hint: z.string().nullable(),
  })
  .openapi('Orphan');
export type OrphanItem = z.infer<typeof orphanItem>;

export const incompleteSite = z
  .object({
    siteId: z.string().uuid(),
    site: siteRef,
    sagaId: z.string().uuid().openapi({ description: 'The saga that last moved the site record' }),
    saga: sagaRef.nullable(),
    problems: z.array(z.string()).openapi({ example: ['no directory', 'no database'] }),
    repair: z.array(repairCommand).openapi({ description: 'For a PENDING site whose create saga ended: its compensations. Empty otherwise (see hint)' }),
    hint: z.string().nullable(),
  })
  .openapi('IncompleteSite');
export type IncompleteSite = z.infer<typeof incompleteSite>;

export const orphanReport = z
  .object({
    auditedAt: timestamp(),
    liveSites: z.number().int().openapi({ description: 'Site records that are PENDING, ACTIVE or DELETING' }),
    orphans: z.array(orphanItem),
    incomplete: z.array(incompleteSite),
    counts: z
      .record(z.number().int())
      .openapi({ description: 'Orphans per kind, every kind present, and `incomplete-site`', example: { directory: 1, database: 0 } }),
    inFlight: z.number().int().openapi({ description: 'Items left out because a saga of their site is RUNNING or COMPENSATING' }),
    truncated: z.array(z.string()).openapi({
      description: 'Sources listed only up to ORPHAN_AUDIT_MAX_ITEMS (`owner:source`): the audit is incomplete and a repair is refused',
    }),
  })
  .openapi('OrphanReport');
export type OrphanReport = z.infer<typeof orphanReport>;

export const repairRequest = z
  .object({
    dryRun: z.boolean().default(true).openapi({ description: 'Default true: say what would be sent, send nothing' }),
    kinds: z
      .array(z.enum([...ORPHAN_KINDS, 'incomplete-site']))
      .max(10)
      .optional()
      .openapi({ description: 'Only orphans of these kinds (default: every repairable one)' }),
    siteIds: z.array(z.string().uuid()).max(500).optional().openapi({ description: 'Only orphans of these sites' }),
  })
  .strict()
  .openapi('OrphanRepairRequest');
export type RepairRequest = z.infer<typeof repairRequest>;

export const sentCommand = z
  .object({
    command: repairCommandType,
    siteId: z.string().uuid(),
    topic: z.string().openapi({ example: 'databases.commands' }),
    messageId: z.string().nullable().openapi({ description: 'The envelope id; null in a dry run' }),
    payload: z.record(z.unknown()),
  })
  .openapi('RepairSentCommand');

export const repairResult = z
  .object({
    repairId: z.string().uuid().openapi({ description: 'The saga id and correlation id of every command sent (their replies name it)' }),
    operator: z.string().openapi({ description: '`admin` (ADMIN_TOKEN) or the name of an ADMIN_TOKENS token' }),
    dryRun: z.boolean(),
    commands: z.array(sentCommand).openapi({ description: 'Sent (or, in a dry run, that would be sent), one per site and command' }),
    repaired: z.array(orphanItem.or(incompleteSite)).openapi({ description: 'The orphans and incomplete sites these commands undo' }),
    skipped: z.array(z.object({ kind: z.string(), name: z.string(), reason: z.string() })).openapi({ description: 'Selected but not repairable' }),
    at: timestamp(),
  })
  .openapi('OrphanRepairResult');
export type RepairResult = z.infer<typeof repairResult>;

export const repairLog = z
  .object({ items: z.array(repairResult.omit({ repaired: true })) })
  .openapi('OrphanRepairLog', { description: 'The newest repairs (at most 50), dry runs included' });

/** One participant's record of a site, as its inventory reports it. */
const participantRecord = z
  .object({ status: z.string().nullable(), sagaId: z.string().uuid().nullable(), updatedAt: z.string().nullable() })
  .openapi('ParticipantRecord');

export const siteSagaRow = z
  .object({
    id: z.string().uuid(),
    type: z.string(),
    status: sagaStatus,
    createdAt: timestamp(),
    updatedAt: timestamp(),
    failedStep: z.string().nullable(),
    waitingOn: z.array(z.string()),
  })
  .openapi('SiteSaga');

export const siteInventoryView = z
  .object({
    siteId: z.string().uuid(),
    site: siteRef.extend({ updatedAt: z.string().nullable(), sagaId: z.string().uuid().nullable() }).nullable(),
    sagas: z
      .array(siteSagaRow)
      .openapi({ description: 'Every saga that touched the site, newest first: create, delete, retries, repairs known to the orchestrator' }),
    records: z.object({
      sites: participantRecord.nullable(),
      storage: participantRecord.nullable(),
      databases: participantRecord.nullable(),
      bootstrap: participantRecord.nullable(),
    }),
    effects: z
      .object({ directory: z.boolean(), database: z.boolean(), role: z.boolean() })
      .openapi({ description: 'What exists now: the directory under STORAGE_ROOT, the database and the login role on the site server' }),
    problems: z
      .array(z.string())
      .openapi({ description: 'What does not add up (an ACTIVE site without its database, effects of a FAILED site…); empty when consistent' }),
  })
  .openapi('SiteInventory');
export type SiteInventoryView = z.infer<typeof siteInventoryView>;

export const siteLookup = z
  .object({
    key: z.string(),
    by: z.enum(['id', 'name', 'domain']),
    sites: z
      .array(siteInventoryView)
      .openapi({ description: 'Every site the key names, newest first (a name may have been used again after a FAILED or DELETED site)' }),
    checkedAt: timestamp(),
  })
  .openapi('SiteLookup');
export type SiteLookup = z.infer<typeof siteLookup>;

const INVENTORY = 'orphans and sites';
const SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];
const unauthorized = errorAnswer('No or wrong token, or a signed-out session');
/** A bearer attempt from an address that failed too often (as on every admin route). */
const throttled = {
  ...errorAnswer('Too many failed attempts from this address (ADMIN_MAX_FAILED_ATTEMPTS in 15 minutes), `Retry-After` seconds'),
  headers: { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' as const } } },
};
const unavailable = errorAnswer('A participant did not answer its inventory request in time (ORPHAN_AUDIT_REPLY_TIMEOUT_MS): which one is named');

export const INVENTORY_API: HttpApi = {
  title: 'site-saga orphans and sites',
  description: 'The orphan audit across services, its guarded repair, and everything about one site.',
  tags: [INVENTORY],
  register(registry: OpenAPIRegistry) {
    const route = { tags: [INVENTORY], security: SECURITY };
    registry.registerPath({
      method: 'get',
      path: '/admin/orphans',
      summary: 'Audit: what no live site accounts for, and live sites whose effects are incomplete',
      description:
        'Asks every participant for its inventory over Kafka (ReportSiteInventory, ReportStorageInventory, ReportDatabaseInventory, ReportBootstrapInventory; paged). A live site is a site record that is PENDING, ACTIVE or DELETING.',
      ...route,
      responses: { 200: { description: 'The audit', content: json(orphanReport) }, 401: unauthorized, 429: throttled, 503: unavailable },
    });
    registry.registerPath({
      method: 'post',
      path: '/admin/orphans/repair',
      summary: 'Repair orphans with the saga’s own compensations (dry run unless `dryRun: false`)',
      description:
        'Audits again, then sends DeprovisionStorage, DropDatabase or ReleaseSite through the outbox for what is still an orphan. The operator is recorded (`GET /admin/orphans/repairs`).',
      ...route,
      request: { body: { required: false, content: json(repairRequest) } },
      responses: {
        200: { description: 'A dry run: what would be sent', content: json(repairResult) },
        202: { description: 'Sent', content: json(repairResult) },
        400: errorAnswer('A bad body'),
        401: unauthorized,
        409: errorAnswer('The audit is truncated (ORPHAN_AUDIT_MAX_ITEMS): nothing is repaired'),
        429: throttled,
        503: unavailable,
      },
    });
    registry.registerPath({
      method: 'get',
      path: '/admin/orphans/repairs',
      summary: 'The newest orphan repairs and who asked for them',
      ...route,
      responses: { 200: { description: 'Newest first', content: json(repairLog) }, 401: unauthorized, 429: throttled },
    });
    registry.registerPath({
      method: 'get',
      path: '/admin/sites/{key}',
      summary: 'Everything about a site, by id, name or domain: its sagas, each participant’s record, its directory, database and role',
      ...route,
      request: {
        params: z.object({
          key: z.string().openapi({ param: { description: 'A site id (uuid), a site name (DNS label) or a domain (host name)' }, example: 'my-blog' }),
        }),
      },
      responses: {
        200: { description: 'The site(s) the key names', content: json(siteLookup) },
        400: errorAnswer('Neither a uuid, a site name nor a domain'),
        401: unauthorized,
        404: errorAnswer('No site, record, effect or saga has that key'),
        429: throttled,
        503: unavailable,
      },
    });
    registry.registerPath({
      method: 'get',
      path: '/admin/inventory',
      summary: 'The page for people: site search and the orphan audit (HTML)',
      tags: [INVENTORY],
      responses: {
        200: { description: 'The page', content: { 'text/html': { schema: z.string() } } },
        401: { description: 'The sign-in form (HTML)' },
        429: throttled,
      },
    });
  },
};
