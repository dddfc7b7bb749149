import type { InventoryItem } from '@sitesaga/contracts';
import { ORPHAN_KINDS, type IncompleteSite, type OrphanItem, type OrphanKind, type OrphanReport, type RepairCommand } from '@sitesaga/http-contracts';

/**
 * The orphan audit as a pure function of what the participants reported and the sagas the
 * orchestrator knows (docs: apps/site-saga/src/admin/README.md, "Orphans").
 *
 * A **live site** is a site record (sites service) that is PENDING, ACTIVE or DELETING: its
 * saga is under way or it is in use. FAILED (released by a compensation) and DELETED sites
 * are not: their directory, database and role should be gone. An item whose site has a
 * saga RUNNING or COMPENSATING is left out (`inFlight`): that saga will settle it.
 */
export interface Inventories {
  readonly sites: readonly InventoryItem[];
  readonly storageRecords: readonly InventoryItem[];
  readonly directories: readonly InventoryItem[];
  readonly databaseRecords: readonly InventoryItem[];
  readonly databases: readonly InventoryItem[];
  readonly roles: readonly InventoryItem[];
  readonly bootstrapRecords: readonly InventoryItem[];
  /** `owner:source` of every source cut short by the cap. */
  readonly truncated: readonly string[];
}

export interface KnownSaga {
  readonly id: string;
  readonly type: string;
  readonly status: 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'COMPENSATED' | 'FAILED';
}

export const LIVE_STATUSES: readonly string[] = ['PENDING', 'ACTIVE', 'DELETING'];
const IN_FLIGHT: readonly string[] = ['RUNNING', 'COMPENSATING'];

type SiteStatus = 'PENDING' | 'ACTIVE' | 'FAILED' | 'DELETING' | 'DELETED';

/** Every saga id the audit may need to know about: the ones the participants recorded, and the create sagas (their id is the site id). */
export function sagaIdsOf(inventories: Inventories): string[] {
  const ids = new Set<string>();
  for (const list of [
    inventories.sites,
    inventories.storageRecords,
    inventories.databaseRecords,
    inventories.bootstrapRecords,
    inventories.directories,
    inventories.databases,
    inventories.roles,
  ]) {
    for (const item of list) {
      if (item.sagaId) ids.add(item.sagaId);
      if (item.siteId) ids.add(item.siteId);
    }
  }
  return [...ids];
}

const STORAGE_UNDO: RepairCommand['command'] = 'DeprovisionStorage';
const DATABASE_UNDO: RepairCommand['command'] = 'DropDatabase';

/** The audit. `sagas`: the orchestrator's sagas among `sagaIdsOf(inventories)`. */
export function auditOrphans(inventories: Inventories, sagas: ReadonlyMap<string, KnownSaga>, now: Date): OrphanReport {
  const sites = new Map(inventories.sites.map((item) => [item.siteId ?? item.name, item]));
  const bySite = (list: readonly InventoryItem[]) => new Map(list.filter((item) => item.siteId).map((item) => [item.siteId!, item]));
  const storage = bySite(inventories.storageRecords);
  const databaseRecords = bySite(inventories.databaseRecords);
  const bootstrap = bySite(inventories.bootstrapRecords);
  const directories = bySite(inventories.directories);
  const databases = bySite(inventories.databases);
  const roles = bySite(inventories.roles);

  /** The sagas of a site: the create saga (id = site id) and every saga a participant recorded for it. */
  const sagasOfSite = (siteId: string): KnownSaga[] => {
    const ids = new Set([
      siteId,
      ...[sites, storage, databaseRecords, bootstrap].map((map) => map.get(siteId)?.sagaId).filter((id): id is string => Boolean(id)),
    ]);
    return [...ids].map((id) => sagas.get(id)).filter((saga): saga is KnownSaga => saga !== undefined);
  };
  const inFlight = (siteId: string | null): boolean => siteId !== null && sagasOfSite(siteId).some((saga) => IN_FLIGHT.includes(saga.status));
  const siteRef = (item: InventoryItem | undefined) =>
    item ? { id: item.siteId!, name: item.siteName ?? '', domain: item.domain ?? '', status: (item.status ?? 'PENDING') as SiteStatus } : null;
  const sagaRef = (id: string | null) => {
    const saga = id ? sagas.get(id) : undefined;
    return saga ? { id: saga.id, type: saga.type, status: saga.status } : null;
  };
  const isLive = (siteId: string): boolean => LIVE_STATUSES.includes(sites.get(siteId)?.status ?? '');

  const orphans: OrphanItem[] = [];
  let skipped = 0;
  const sitesTruncated = inventories.truncated.includes('sites:records');
  const consider = (kind: OrphanKind, item: InventoryItem, sagaId: string | null, undo: RepairCommand['command'] | null, claimsEffect: boolean) => {
    const siteId = item.siteId;
    if (siteId === null) {
      orphans.push({
        kind,
        name: item.name,
        siteId: null,
        site: null,
        sagaId: null,
        saga: null,
        reason: 'its name names no site: the platform did not make it',
        repair: [],
        hint: kind === 'directory' ? 'not a site directory: look at it and remove it by hand if nobody needs it' : null,
      });
      return;
    }
    if (isLive(siteId) || !claimsEffect) return;
    if (inFlight(siteId)) {
      skipped += 1;
      return;
    }
    // Sites are listed after the effects, so an effect's site record is always seen: a
    // site reserved after the effects were listed made none of them yet.
    if (sitesTruncated) return;
    const site = sites.get(siteId);
    const recorded = sagaId ?? (sagas.has(siteId) ? siteId : null);
    orphans.push({
      kind,
      name: item.name,
      siteId,
      site: siteRef(site),
      sagaId: recorded,
      saga: sagaRef(recorded),
      reason: site ? `its site is ${site.status}` : 'no site record has its id',
      repair: undo ? [{ command: undo, siteId }] : [],
      hint: undo ? null : 'no participant command removes a bootstrap record: it stays as history',
    });
  };

  for (const item of inventories.directories) consider('directory', item, storage.get(item.siteId ?? '')?.sagaId ?? null, STORAGE_UNDO, true);
  for (const item of inventories.databases) consider('database', item, databaseRecords.get(item.siteId ?? '')?.sagaId ?? null, DATABASE_UNDO, true);
  for (const item of inventories.roles) consider('role', item, databaseRecords.get(item.siteId ?? '')?.sagaId ?? null, DATABASE_UNDO, true);
  for (const item of inventories.storageRecords) consider('storage-record', item, item.sagaId, STORAGE_UNDO, item.status === 'PROVISIONED');
  for (const item of inventories.databaseRecords) consider('database-record', item, item.sagaId, DATABASE_UNDO, item.status === 'PROVISIONED');
  // A bootstrap record stays when its site is compensated or deleted (bootstrap has no undo:
  // its work lives in the directory and the database): an orphan only when no site has its id.
  for (const item of inventories.bootstrapRecords) {
    if (item.siteId && !sites.has(item.siteId) && !sitesTruncated) consider('bootstrap-record', item, item.sagaId, null, true);
  }

  const incomplete: IncompleteSite[] = [];
  for (const site of inventories.sites) {
    const siteId = site.siteId;
    if (!siteId || !LIVE_STATUSES.includes(site.status ?? '')) continue;
    if (inFlight(siteId)) {
      skipped += 1;
      continue;
    }
    const ref = siteRef(site)!;
    const saga = sagaRef(site.sagaId);
    const base = { siteId, site: ref, sagaId: site.sagaId!, saga };
    if (site.status === 'PENDING') {
      const create = sagas.get(siteId);
      const problems = [create ? `its ${create.type} saga is ${create.status}: nothing will finish or undo it` : 'no saga of the orchestrator creates it'];
      problems.push(...present({ directories, databases, roles }, siteId));
      incomplete.push({
        ...base,
        saga: sagaRef(create ? siteId : site.sagaId),
        problems,
        repair: [
          { command: STORAGE_UNDO, siteId },
          { command: DATABASE_UNDO, siteId },
          { command: 'ReleaseSite', siteId },
        ],
        hint: 'repair compensates it as its create saga would have: directory, database and role removed, the site record FAILED (its name freed)',
      });
    } else if (site.status === 'ACTIVE') {
      const problems = missing(inventories, { storage, databaseRecords, bootstrap, directories, databases, roles }, siteId);
      if (problems.length > 0) {
        incomplete.push({
          ...base,
          problems,
          repair: [],
          hint: `an ACTIVE site is never compensated by a repair: restore what is missing, or delete the site (saga delete-site ${siteId})`,
        });
      }
    } else {
      const deleting = saga && saga.type === 'DeleteSite' ? `its DeleteSite saga is ${saga.status}` : 'no DeleteSite saga is under way';
      incomplete.push({
        ...base,
        problems: [deleting, ...present({ directories, databases, roles }, siteId)],
        repair: [],
        hint: saga ? `retry its DeleteSite saga (saga retry ${saga.id})` : `delete it again (saga delete-site ${siteId})`,
      });
    }
  }

  const counts: Record<string, number> = Object.fromEntries(ORPHAN_KINDS.map((kind) => [kind, 0]));
  for (const orphan of orphans) counts[orphan.kind] = (counts[orphan.kind] ?? 0) + 1;
  counts['incomplete-site'] = incomplete.length;
  const order = (a: { siteId: string | null; name?: string }, b: { siteId: string | null; name?: string }) =>
    (a.siteId ?? '').localeCompare(b.siteId ?? '') || (a.name ?? '').localeCompare(b.name ?? '');
  return {
    auditedAt: now.toISOString(),
    liveSites: inventories.sites.filter((site) => LIVE_STATUSES.includes(site.status ?? '')).length,
    orphans: orphans.sort((a, b) => order(a, b) || a.kind.localeCompare(b.kind)),
    incomplete: incomplete.sort(order),
    counts,
    inFlight: skipped,
    truncated: [...inventories.truncated],
  };
}

/** What of a site's effects still exists. */
function present(
  effects: { directories: Map<string, InventoryItem>; databases: Map<string, InventoryItem>; roles: Map<string, InventoryItem> },
  siteId: string,
): string[] {
  return [
    effects.directories.has(siteId) ? 'its directory exists' : null,
    effects.databases.has(siteId) ? 'its database exists' : null,
    effects.roles.has(siteId) ? 'its role exists' : null,
  ].filter((line): line is string => line !== null);
}

/** What an ACTIVE site lacks; a source cut short by the cap proves nothing missing. */
function missing(
  inventories: Inventories,
  maps: Record<'storage' | 'databaseRecords' | 'bootstrap' | 'directories' | 'databases' | 'roles', Map<string, InventoryItem>>,
  siteId: string,
): string[] {
  const checks: [string, string, boolean][] = [
    ['storage:directories', 'no directory', maps.directories.has(siteId)],
    ['storage:records', 'no PROVISIONED storage record', maps.storage.get(siteId)?.status === 'PROVISIONED'],
    ['databases:databases', 'no database', maps.databases.has(siteId)],
    ['databases:roles', 'no login role', maps.roles.has(siteId)],
    ['databases:records', 'no PROVISIONED database record', maps.databaseRecords.get(siteId)?.status === 'PROVISIONED'],
    ['bootstrap:records', 'no bootstrap record', maps.bootstrap.has(siteId)],
  ];
  return checks.filter(([source, , ok]) => !ok && !inventories.truncated.includes(source)).map(([, problem]) => problem);
}
