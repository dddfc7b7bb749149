import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateSite,
  DeleteSite,
  SiteCreated,
  SiteCreationFailed,
  SiteCreationRejected,
  SiteDeleted,
  SiteDeletionFailed,
  Topics,
} from '@sitesaga/contracts';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * The create-site and delete-site sagas across all five services as processes, over a
 * real broker and a real Postgres, driven only through Kafka and HTTP.
 */
jest.setTimeout(180_000);

const system = new RunningSystem({ label: 'create', env: { 'site-saga': { SAGA_TIME_SCALE: '0.1' } } });
beforeAll(() => system.start(), 180_000);
afterAll(() => system.stop(), 60_000);

const siteNames = (sagaId: string) => `site_${sagaId.replace(/-/g, '')}`;
const createSite = async (name: string, overrides: Record<string, unknown> = {}) => {
  const sagaId = randomUUID();
  const payload = { name, domain: `${name}.example.com`, adminEmail: `owner@${name}.example.com`, tagline: 'Just another site', ...overrides };
  await system.send({ ...CreateSite.create(payload as never, { sagaId, correlationId: randomUUID(), causationId: null }) });
  return sagaId;
};
const siteDirectory = (siteId: string) => path.join(system.storageRoot, siteId);
const databaseExists = async (siteId: string) =>
  (await system.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [siteNames(siteId)])).length === 1;
const roleExists = async (siteId: string) => (await system.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [siteNames(siteId)])).length === 1;
const siteRecord = async (siteId: string) =>
  (await fetch(`${system.service('sites').url}/sites/${siteId}`, { headers: system.operatorHeaders }).then((response) => (response.ok ? response.json() : undefined))) as
    | { status: string; name: string }
    | undefined;

describe('create-site saga', () => {
  it('creates a site end to end: directory, database with schema, ACTIVE record, SiteCreated, and a COMPLETED saga with its history', async () => {
    const name = `blog-${randomUUID().slice(0, 8)}`;
    const sagaId = await createSite(name);
    const outcome = await system.waitForOutcome(sagaId, [SiteCreated, SiteCreationFailed, SiteCreationRejected]);
    expect(outcome.type).toBe('SiteCreated');
    expect(outcome.payload).toEqual({ siteId: sagaId, name, domain: `${name}.example.com`, url: `https://${name}.example.com` });

    expect(fs.existsSync(path.join(siteDirectory(sagaId), 'wp-content', 'uploads'))).toBe(true);
    expect(await databaseExists(sagaId)).toBe(true);
    const tables = await system.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`, [], siteNames(sagaId));
    expect(tables.map((table) => table.table_name)).toEqual(expect.arrayContaining(['posts', 'options', 'users']));
    expect((await siteRecord(sagaId))?.status).toBe('ACTIVE');
    expect(system.events(Topics.siteSagaEvents, { sagaId, type: 'SiteCreationStarted' })).toHaveLength(1);

    const detail = await system.admin<{
      status: string;
      input: Record<string, unknown>;
      steps: { name: string; state: string; attempts: number; startedAt: string; finishedAt: string }[];
      history: { direction: string; type: string }[];
    }>(`/admin/sagas/${sagaId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.status).toBe('COMPLETED');
    expect(detail.body.steps.map((step) => [step.name, step.state])).toEqual([
      ['ReserveSite', 'SUCCEEDED'],
      ['ProvisionStorage', 'SUCCEEDED'],
      ['ProvisionDatabase', 'SUCCEEDED'],
      ['BootstrapSite', 'SUCCEEDED'],
      ['ActivateSite', 'SUCCEEDED'],
    ]);
    for (const step of detail.body.steps) expect(step.attempts).toBe(1);
    const history = detail.body.history.map((entry) => `${entry.direction} ${entry.type}`);
    expect(history).toEqual(expect.arrayContaining(['in CreateSite', 'out ReserveSite', 'in SiteReserved', 'out ProvisionStorage', 'out ProvisionDatabase', 'in SiteBootstrapped', 'out SiteCreated']));
    // The sealed credentials never show in the admin response.
    expect(JSON.stringify(detail.body)).not.toMatch(/v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
  });

  it('starts one saga when the same CreateSite is sent twice', async () => {
    const name = `twice-${randomUUID().slice(0, 8)}`;
    const sagaId = randomUUID();
    const command = CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'a@example.com' }, { sagaId, correlationId: sagaId, causationId: null });
    await system.send(command);
    await system.send(command);
    await system.waitForOutcome(sagaId, [SiteCreated, SiteCreationFailed]);
    expect(system.events(Topics.siteSagaEvents, { sagaId, type: 'SiteCreationStarted' })).toHaveLength(1);
    expect(system.events(Topics.sitesEvents, { sagaId, type: 'SiteReserved' })).toHaveLength(1);
  });

  it('rejects invalid input with field reasons and touches nothing', async () => {
    const sagaId = randomUUID();
    await system.send({
      id: randomUUID(),
      type: 'CreateSite',
      version: 1,
      sagaId,
      correlationId: sagaId,
      causationId: null,
      occurredAt: new Date().toISOString(),
      payload: { name: '../../etc', domain: "a'; drop database postgres;--", adminEmail: 'nope' },
    });
    const outcome = await system.waitForOutcome(sagaId, [SiteCreationRejected, SiteCreationFailed, SiteCreated]);
    expect(outcome.type).toBe('SiteCreationRejected');
    const fields = (outcome.payload as { reasons: { field: string }[] }).reasons.map((reason) => reason.field).sort();
    expect(fields).toEqual(['adminEmail', 'domain', 'name']);
    expect(system.events(Topics.sitesEvents, { sagaId })).toHaveLength(0);
    expect(fs.readdirSync(system.storageRoot).filter((entry) => !entry.startsWith('.'))).not.toContain(sagaId);
  });

  it('rejects a taken name with a reason, and compensates nothing', async () => {
    const name = `taken-${randomUUID().slice(0, 8)}`;
    const first = await createSite(name);
    await system.waitForOutcome(first, [SiteCreated]);
    const second = await createSite(name, { domain: `other-${name}.example.com` });
    const outcome = await system.waitForOutcome(second, [SiteCreationRejected, SiteCreationFailed, SiteCreated]);
    expect(outcome.type).toBe('SiteCreationRejected');
    expect((outcome.payload as { reasons: { field: string }[] }).reasons[0]?.field).toBe('name');
    expect(fs.existsSync(siteDirectory(second))).toBe(false);
    expect(await databaseExists(second)).toBe(false);
  });

  it('deletes a site: directory, database and role gone, record DELETED, SiteDeleted published', async () => {
    const name = `gone-${randomUUID().slice(0, 8)}`;
    const siteId = await createSite(name);
    await system.waitForOutcome(siteId, [SiteCreated]);
    const deletion = randomUUID();
    await system.send(DeleteSite.create({ siteId }, { sagaId: deletion, correlationId: deletion, causationId: null }));
    const outcome = await system.waitForOutcome(deletion, [SiteDeleted, SiteDeletionFailed]);
    expect(outcome.type).toBe('SiteDeleted');
    expect(fs.existsSync(siteDirectory(siteId))).toBe(false);
    expect(await databaseExists(siteId)).toBe(false);
    expect(await roleExists(siteId)).toBe(false);
    expect((await siteRecord(siteId))?.status).toBe('DELETED');
    // The name is free again.
    const again = await createSite(name);
    expect((await system.waitForOutcome(again, [SiteCreated, SiteCreationRejected, SiteCreationFailed])).type).toBe('SiteCreated');
  });

  it('refuses to delete a site that does not exist', async () => {
    const deletion = randomUUID();
    await system.send(DeleteSite.create({ siteId: randomUUID() }, { sagaId: deletion, correlationId: deletion, causationId: null }));
    const outcome = await system.waitForOutcome(deletion, [SiteDeleted, SiteDeletionFailed]);
    expect(outcome.type).toBe('SiteDeletionFailed');
    expect(outcome.payload).toMatchObject({ failedStep: 'MarkSiteDeleting' });
  });
});
