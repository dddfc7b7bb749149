import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type InventoryItem, type InventoryMatch, siteDomain, siteName } from '@sitesaga/contracts';
import type { SiteInventoryView, SiteLookup } from '@sitesaga/http-contracts';
import { type SagaListing, sagasById, sagasWithDataField } from '@sitesaga/saga';
import type { DataSource } from 'typeorm';
import { InventoryRequests } from './inventory-requests';
import { LIVE_STATUSES } from './orphan-audit';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Sagas shown per site: plenty for create, deletes, retries and repairs. */
const SAGAS_PER_SITE = 100;
/** Sites one name or domain may name over time (FAILED or DELETED, then created again). */
const SITES_PER_KEY = 20;

/** What a key is: a site id (uuid), a domain (has a dot) or a site name (a DNS label). A bad key is a 400 with the rule. */
export function parseSiteKey(raw: string): { by: 'id' | 'name' | 'domain'; value: string } {
  const key = raw.trim();
  if (UUID.test(key)) return { by: 'id', value: key.toLowerCase() };
  if (/^[0-9a-f-]{30,40}$/i.test(key) && key.includes('-')) {
    throw new BadRequestException({
      message: `"${key.slice(0, 60)}" looks like a site id but is not a uuid`,
      errors: [{ field: 'key', message: 'must be a uuid, a site name or a domain' }],
    });
  }
  const schema = key.includes('.') ? siteDomain : siteName;
  const checked = schema.safeParse(key);
  if (!checked.success) {
    const why = checked.error.issues[0]?.message ?? 'invalid';
    const what = key.includes('.') ? 'domain' : 'site name';
    throw new BadRequestException({
      message: `"${key.slice(0, 60)}" is neither a site id (uuid), a site name nor a domain: as a ${what} it ${why}`,
      errors: [{ field: 'key', message: `must be a uuid, a site name or a domain (${what}: ${why})` }],
    });
  }
  return { by: key.includes('.') ? 'domain' : 'name', value: key };
}

/**
 * Everything about a site in one place, by id, name or domain: the sagas that touched it
 * (the orchestrator's own, by the site id in their data and by the saga ids the participants
 * recorded), each participant's record of it and its effects (directory, database, role),
 * asked of the participants over Kafka with a match on the site.
 */
@Injectable()
export class SiteInventory {
  constructor(
    private readonly requests: InventoryRequests,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async lookup(rawKey: string): Promise<SiteLookup> {
    const key = parseSiteKey(rawKey);
    const match: InventoryMatch = key.by === 'id' ? { siteId: key.value } : key.by === 'name' ? { name: key.value } : { domain: key.value };
    const records = await this.requests.page('sites', 'records', null, SITES_PER_KEY, undefined, match);
    const siteIds = key.by === 'id' ? [key.value] : records.items.map((item) => item.siteId!).filter(Boolean);
    const views = await Promise.all(siteIds.map((siteId) => this.view(siteId, records.items.find((item) => item.siteId === siteId) ?? null)));
    const found = views.filter(
      (view) => view.site !== null || view.sagas.length > 0 || Object.values(view.records).some(Boolean) || Object.values(view.effects).some(Boolean),
    );
    if (found.length === 0) throw new NotFoundException({ message: `no site, record, effect or saga has the ${key.by} "${key.value}"`, errors: [] });
    found.sort((a, b) => (b.site?.updatedAt ?? '').localeCompare(a.site?.updatedAt ?? ''));
    return { key: key.value, by: key.by, sites: found, checkedAt: new Date().toISOString() };
  }

  private async view(siteId: string, site: InventoryItem | null): Promise<SiteInventoryView> {
    const only = { siteId };
    const one = async (owner: 'storage' | 'databases' | 'bootstrap', source: string) =>
      (await this.requests.page(owner, source, null, 1, undefined, only)).items[0] ?? null;
    const [storage, directory, databases, database, role, bootstrap] = await Promise.all([
      one('storage', 'records'),
      one('storage', 'directories'),
      one('databases', 'records'),
      one('databases', 'databases'),
      one('databases', 'roles'),
      one('bootstrap', 'records'),
    ]);
    const record = (item: InventoryItem | null) => (item ? { status: item.status, sagaId: item.sagaId, updatedAt: item.updatedAt ?? null } : null);
    const sagas = await this.sagasOf(
      siteId,
      [site, storage, databases, bootstrap].map((item) => item?.sagaId ?? null),
    );
    const effects = { directory: directory !== null, database: database !== null, role: role !== null };
    return {
      siteId,
      site: site
        ? {
            id: siteId,
            name: site.siteName ?? '',
            domain: site.domain ?? '',
            status: site.status as never,
            updatedAt: site.updatedAt ?? null,
            sagaId: site.sagaId,
          }
        : null,
      sagas: sagas.map((saga) => ({
        id: saga.id,
        type: saga.type,
        status: saga.status,
        createdAt: saga.createdAt.toISOString(),
        updatedAt: saga.updatedAt.toISOString(),
        failedStep: saga.failedStep,
        waitingOn: [...saga.waitingOn],
      })),
      records: { sites: record(site), storage: record(storage), databases: record(databases), bootstrap: record(bootstrap) },
      effects,
      problems: problemsOf(site, effects, sagas),
    };
  }

  private async sagasOf(siteId: string, recorded: (string | null)[]): Promise<SagaListing[]> {
    const byData = await sagasWithDataField(this.dataSource.manager, 'siteId', siteId, SAGAS_PER_SITE);
    const known = new Set(byData.map((saga) => saga.id));
    const others = [siteId, ...recorded].filter((id): id is string => id !== null && !known.has(id));
    const extra = await sagasById(this.dataSource.manager, [...new Set(others)]);
    return [...byData, ...extra].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }
}

function problemsOf(site: InventoryItem | null, effects: { directory: boolean; database: boolean; role: boolean }, sagas: SagaListing[]): string[] {
  const inFlight = sagas.some((saga) => saga.status === 'RUNNING' || saga.status === 'COMPENSATING');
  if (inFlight) return [];
  const present = Object.entries(effects)
    .filter(([, exists]) => exists)
    .map(([effect]) => effect);
  if (!site) return present.length > 0 ? [`no site record, yet its ${present.join(', ')} exist(s): orphans (saga orphans)`] : [];
  if (site.status === 'ACTIVE')
    return Object.entries(effects)
      .filter(([, exists]) => !exists)
      .map(([effect]) => `ACTIVE without its ${effect}`);
  if (!LIVE_STATUSES.includes(site.status ?? ''))
    return present.length > 0 ? [`${site.status} yet its ${present.join(', ')} exist(s): orphans (saga orphans)`] : [];
  if (site.status === 'PENDING') return ['PENDING with no saga under way: nothing will finish or undo it (saga orphans)'];
  return ['DELETING with no saga under way'];
}
