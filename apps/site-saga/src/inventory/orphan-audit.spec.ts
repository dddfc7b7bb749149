import type { InventoryItem } from '@sitesaga/contracts';
import { auditOrphans, type Inventories, type KnownSaga } from './orphan-audit';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const dbName = (siteId: string) => `site_${siteId.replace(/-/g, '')}`;
const site = (n: number, status: string, sagaId = id(n)): InventoryItem => ({
  name: id(n),
  siteId: id(n),
  status,
  sagaId,
  siteName: `site-${n}`,
  domain: `site-${n}.example.com`,
});
const record = (n: number, status: string, sagaId: string | null = id(n)): InventoryItem => ({ name: id(n), siteId: id(n), status, sagaId });
const effect = (n: number, name = id(n)): InventoryItem => ({ name, siteId: id(n), status: null, sagaId: null });
const saga = (sagaId: string, status: KnownSaga['status'], type = 'CreateSite'): [string, KnownSaga] => [sagaId, { id: sagaId, type, status }];

const empty: Inventories = {
  sites: [],
  storageRecords: [],
  directories: [],
  databaseRecords: [],
  databases: [],
  roles: [],
  bootstrapRecords: [],
  truncated: [],
};
/** A complete ACTIVE site n. */
const activeSite = (n: number): Partial<Inventories> => ({
  sites: [site(n, 'ACTIVE')],
  storageRecords: [record(n, 'PROVISIONED')],
  directories: [effect(n)],
  databaseRecords: [record(n, 'PROVISIONED')],
  databases: [effect(n, dbName(id(n)))],
  roles: [effect(n, dbName(id(n)))],
  bootstrapRecords: [record(n, 'BOOTSTRAPPED')],
});
const merge = (...parts: Partial<Inventories>[]): Inventories =>
  parts.reduce<Inventories>(
    (all, part) => ({
      ...all,
      ...Object.fromEntries(Object.entries(part).map(([key, value]) => [key, [...(all[key as keyof Inventories] as unknown[]), ...(value as unknown[])]])),
    }),
    empty,
  );
const now = new Date('2026-12-01T12:00:00Z');

describe('auditOrphans', () => {
  it('finds nothing in a platform whose every site is complete', () => {
    const report = auditOrphans(merge(activeSite(1), activeSite(2)), new Map([saga(id(1), 'COMPLETED'), saga(id(2), 'COMPLETED')]), now);
    expect(report.orphans).toEqual([]);
    expect(report.incomplete).toEqual([]);
    expect(report.liveSites).toBe(2);
  });

  it('calls the effects of a FAILED or DELETED site, and of no site at all, orphans, each with the saga its participant recorded', () => {
    const failed = merge({ sites: [site(1, 'FAILED')], directories: [effect(1)], storageRecords: [record(1, 'PROVISIONED', id(91))] });
    const deleted = merge({ sites: [site(2, 'DELETED')], databases: [effect(2, dbName(id(2)))], databaseRecords: [record(2, 'DROPPED')] });
    const nobody = merge({ roles: [effect(3, dbName(id(3)))], databaseRecords: [record(3, 'PROVISIONED', id(93))] });
    const report = auditOrphans(merge(failed, deleted, nobody), new Map([saga(id(91), 'COMPENSATED'), saga(id(2), 'COMPLETED', 'DeleteSite')]), now);
    expect(
      report.orphans.map((orphan) => [
        orphan.kind,
        orphan.siteId,
        orphan.sagaId,
        orphan.saga?.status ?? null,
        orphan.reason,
        orphan.repair.map((c) => c.command),
      ]),
    ).toEqual([
      ['directory', id(1), id(91), 'COMPENSATED', 'its site is FAILED', ['DeprovisionStorage']],
      ['storage-record', id(1), id(91), 'COMPENSATED', 'its site is FAILED', ['DeprovisionStorage']],
      ['database', id(2), id(2), 'COMPLETED', 'its site is DELETED', ['DropDatabase']], // the DROPPED record names no saga of its own here: the saga with the site's id
      ['database-record', id(3), id(93), null, 'no site record has its id', ['DropDatabase']],
      ['role', id(3), id(93), null, 'no site record has its id', ['DropDatabase']],
    ]);
    expect(report.counts).toMatchObject({ directory: 1, 'storage-record': 1, database: 1, role: 1, 'database-record': 1, 'incomplete-site': 0 });
  });

  it('leaves out what a saga in flight will settle, and history (DEPROVISIONED, DROPPED, bootstrap records of known sites)', () => {
    const inventories = merge(
      { sites: [site(1, 'FAILED')], directories: [effect(1)] },
      {
        sites: [site(2, 'DELETED')],
        storageRecords: [record(2, 'DEPROVISIONED')],
        databaseRecords: [record(2, 'DROPPED')],
        bootstrapRecords: [record(2, 'BOOTSTRAPPED')],
      },
    );
    const report = auditOrphans(inventories, new Map([saga(id(1), 'COMPENSATING')]), now);
    expect(report.orphans).toEqual([]);
    expect(report.inFlight).toBe(1);
  });

  it('names a directory whose name is no site id, with nothing to send for it', () => {
    const report = auditOrphans(merge({ directories: [{ name: 'lost+found', siteId: null, status: null, sagaId: null }] }), new Map(), now);
    expect(report.orphans).toEqual([expect.objectContaining({ kind: 'directory', name: 'lost+found', repair: [], hint: expect.stringContaining('by hand') })]);
  });

  it('calls a PENDING site whose create saga ended incomplete, with its compensations as the repair', () => {
    const inventories = merge({
      sites: [site(1, 'PENDING')],
      databases: [effect(1, dbName(id(1)))],
      roles: [effect(1, dbName(id(1)))],
      databaseRecords: [record(1, 'PROVISIONED')],
    });
    const report = auditOrphans(inventories, new Map([saga(id(1), 'FAILED')]), now);
    expect(report.orphans).toEqual([]); // a PENDING site is live: its effects are accounted for
    expect(report.incomplete).toEqual([
      expect.objectContaining({
        siteId: id(1),
        saga: { id: id(1), type: 'CreateSite', status: 'FAILED' },
        problems: ['its CreateSite saga is FAILED: nothing will finish or undo it', 'its database exists', 'its role exists'],
        repair: [
          { command: 'DeprovisionStorage', siteId: id(1) },
          { command: 'DropDatabase', siteId: id(1) },
          { command: 'ReleaseSite', siteId: id(1) },
        ],
      }),
    ]);
  });

  it('lists what an ACTIVE site lacks, never proposing to undo it, and trusts no source the cap cut short', () => {
    const whole = merge(activeSite(1));
    const lacking: Inventories = { ...whole, databases: [], bootstrapRecords: [] };
    const report = auditOrphans(lacking, new Map([saga(id(1), 'COMPLETED')]), now);
    expect(report.incomplete).toEqual([expect.objectContaining({ problems: ['no database', 'no bootstrap record'], repair: [] })]);
    const truncated = auditOrphans({ ...lacking, truncated: ['databases:databases'] }, new Map([saga(id(1), 'COMPLETED')]), now);
    expect(truncated.incomplete[0]?.problems).toEqual(['no bootstrap record']);
  });

  it('calls nothing an orphan when the site listing itself was cut short', () => {
    const report = auditOrphans({ ...merge({ directories: [effect(1)] }), truncated: ['sites:records'] }, new Map(), now);
    expect(report.orphans).toEqual([]);
    expect(report.truncated).toEqual(['sites:records']);
  });
});
