import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateSite, DeleteSite, sagaIdFor, SiteCreated, SiteDeleted, Topics } from '@sitesaga/contracts';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Deleting cannot be undone: a delete saga whose step runs out of attempts stops FAILED
 * with the site still DELETING, asks a person, and completes when an operator retries.
 * And a DeleteSite that reuses that saga's id is answered, without speaking for it.
 */
jest.setTimeout(240_000);

// Timeouts and backoffs ×0.1: the delete saga's 8 attempts take seconds, not minutes.
const system = new RunningSystem({ label: 'delete-attention', env: { 'site-saga': { SAGA_TIME_SCALE: '0.1' } } });
beforeAll(() => system.start(), 180_000);
afterAll(() => system.stop(), 60_000);

const siteRecord = async (siteId: string) =>
  (await fetch(`${system.service('sites').url}/sites/${siteId}`, { headers: system.operatorHeaders }).then((response) => (response.ok ? response.json() : undefined))) as
    { status: string } | undefined;
const sagaDetail = (sagaId: string) =>
  system
    .admin<{
      status: string;
      failure: { failedStep: string; stuck: { step: string }[] } | null;
      steps: { name: string; state: string; attempts: number; error: string | null }[];
    }>(`/admin/sagas/${sagaId}`)
    .then((response) => response.body);
const outcomesOf = (sagaId: string) => system.events(Topics.siteSagaEvents, { sagaId }).map((event) => event.type);

describe('a delete saga that runs out of attempts', () => {
  it('stops FAILED with the site DELETING, asks for attention, and deletes the site when retried', async () => {
    const siteId = randomUUID();
    const name = `del-${siteId.slice(0, 8)}`;
    await system.send(
      CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId: siteId, correlationId: siteId, causationId: null }),
    );
    await system.waitForOutcome(siteId, [SiteCreated], '90s');

    await system.setFaults('storage', [{ command: 'DeprovisionStorage', mode: 'transient', match: siteId }]);
    const deletion = randomUUID();
    await system.send(DeleteSite.create({ siteId }, { sagaId: deletion, correlationId: deletion, causationId: null }));

    const attention = await waitFor(() => system.events(Topics.siteSagaEvents, { sagaId: deletion, type: 'SagaNeedsAttention' })[0], {
      within: '120s',
      what: 'SagaNeedsAttention for the deletion',
    });
    expect(attention.payload).toMatchObject({ siteId, sagaType: 'DeleteSite', step: 'DeprovisionStorage' });
    const stopped = await sagaDetail(deletion);
    expect(stopped.status).toBe('FAILED');
    expect(stopped.failure).toMatchObject({ failedStep: 'DeprovisionStorage', stuck: [{ step: 'DeprovisionStorage' }] });
    expect(stopped.steps.find((step) => step.name === 'DeprovisionStorage')).toMatchObject({ state: 'FAILED', attempts: 8 });
    expect((await siteRecord(siteId))?.status).toBe('DELETING');
    expect(outcomesOf(deletion)).not.toContain('SiteDeletionFailed');
    expect(outcomesOf(deletion)).not.toContain('SiteDeleted');

    // Someone reuses the stopped saga's id: answered, under an id of its own.
    const reuse = DeleteSite.create({ siteId }, { sagaId: deletion, correlationId: randomUUID(), causationId: null });
    await system.send(reuse);
    const rejected = await waitFor(
      () => system.events(Topics.siteSagaEvents, { type: 'SiteDeletionRejected' }).find((event) => event.causationId === reuse.id),
      {
        within: '60s',
        what: 'SiteDeletionRejected for the reused saga id',
      },
    );
    expect(rejected).toMatchObject({ sagaId: sagaIdFor(reuse.id), correlationId: reuse.id, payload: { siteId, reasons: [{ field: 'sagaId' }] } });
    expect(outcomesOf(deletion)).not.toContain('SiteDeletionRejected');

    // The cause is fixed; an operator retries: the deletion goes on from where it stopped.
    await system.setFaults('storage', []);
    const retried = await system.admin<{ status: string }>(`/admin/sagas/${deletion}/retry`, { method: 'POST' });
    expect(retried).toMatchObject({ status: 202, body: { status: 'RUNNING' } });
    await system.waitForOutcome(deletion, [SiteDeleted], '90s');
    expect((await sagaDetail(deletion)).status).toBe('COMPLETED');
    expect((await siteRecord(siteId))?.status).toBe('DELETED');
    expect(fs.existsSync(path.join(system.storageRoot, siteId))).toBe(false);
  });
});
