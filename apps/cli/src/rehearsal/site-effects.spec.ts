import type { DefinitionStepView, SagaDefinitionView } from '@sitesaga/http-contracts';
import { rehearsalPlan } from './rehearsal-cases';
import { ACTIVE_SITE, expectedResources, NO_SITE } from './site-effects';

const retry = { maxAttempts: 5, backoffMs: 1000, factor: 2, jitter: 0.2, maxBackoffMs: 30000 };
const command = (type: string, service: string) => ({ type, topic: `${service}.commands`, service, succeeded: `${type}Ok`, failed: `${type}Failed` });
const step = (name: string, position: number, service: string, undo: string | null): DefinitionStepView => ({
  name,
  position,
  command: command(name, service),
  timeoutMs: 30000,
  retry,
  compensation: undo ? { command: command(undo, service), timeoutMs: 30000, retry } : null,
});

/** CreateSite and DeleteSite as GET /admin/definitions shows them. */
const createSite: SagaDefinitionView = {
  type: 'CreateSite',
  whenExhausted: 'compensate',
  timeScale: 1,
  stages: [
    { position: 0, parallel: false, steps: [step('ReserveSite', 0, 'sites', 'ReleaseSite')] },
    { position: 1, parallel: true, steps: [step('ProvisionStorage', 1, 'storage', 'DeprovisionStorage'), step('ProvisionDatabase', 1, 'databases', 'DropDatabase')] },
    { position: 2, parallel: false, steps: [step('BootstrapSite', 2, 'bootstrap', null)] },
    { position: 3, parallel: false, steps: [step('ActivateSite', 3, 'sites', null)] },
  ],
};
const deleteSite: SagaDefinitionView = {
  type: 'DeleteSite',
  whenExhausted: 'stop',
  timeScale: 1,
  stages: [
    { position: 0, parallel: false, steps: [step('MarkSiteDeleting', 0, 'sites', null)] },
    { position: 1, parallel: true, steps: [step('DeprovisionStorage', 1, 'storage', null), step('DropDatabase', 1, 'databases', null)] },
    { position: 2, parallel: false, steps: [step('MarkSiteDeleted', 2, 'sites', null)] },
  ],
};

const expectedOf = (definition: SagaDefinitionView, id: string, baseline = NO_SITE) => {
  const rehearsal = rehearsalPlan(definition).cases.find((candidate) => candidate.id === id)!;
  return expectedResources(rehearsal, definition, baseline);
};

describe('expectedResources', () => {
  it('a completed creation leaves an active site with its directory, database and role', () => {
    expect(expectedOf(createSite, 'CreateSite: BootstrapSite × stall')).toEqual({ record: 'ACTIVE', directory: 'present', database: 'present', role: 'present' });
  });

  it('a refused reservation leaves nothing, not even a record; a later refusal leaves a FAILED record and nothing else', () => {
    expect(expectedOf(createSite, 'CreateSite: ReserveSite × business')).toEqual(NO_SITE);
    expect(expectedOf(createSite, 'CreateSite: ActivateSite × business')).toEqual({ record: 'FAILED', directory: 'absent', database: 'absent', role: 'absent' });
  });

  it('an undo refused for good leaves its own effect and the earlier stages', () => {
    expect(expectedOf(createSite, 'CreateSite: undo DeprovisionStorage (ProvisionStorage) × business')).toEqual({
      record: 'PENDING',
      directory: 'present',
      database: 'absent',
      role: 'absent',
    });
  });

  it('a deletion refused half-way leaves what the parallel sibling may or may not have removed', () => {
    expect(expectedOf(deleteSite, 'DeleteSite: DeprovisionStorage × business', ACTIVE_SITE)).toEqual({
      record: 'DELETING',
      directory: 'present',
      database: 'either',
      role: 'either',
    });
    expect(expectedOf(deleteSite, 'DeleteSite: MarkSiteDeleting × business', ACTIVE_SITE)).toEqual(ACTIVE_SITE);
    expect(expectedOf(deleteSite, 'DeleteSite: MarkSiteDeleted × crash', ACTIVE_SITE)).toEqual({ record: 'DELETED', directory: 'absent', database: 'absent', role: 'absent' });
  });
});
