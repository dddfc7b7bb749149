import { sagaDefinitions } from '@sitesaga/http-contracts';
import { scaleTimings } from '@sitesaga/saga';
import { createSiteSaga } from '../sagas/create-site.saga';
import { deleteSiteSaga } from '../sagas/delete-site.saga';
import { definitionsView } from './saga-definitions';

describe('GET /admin/definitions view', () => {
  const view = definitionsView([scaleTimings(createSiteSaga, 0.1), deleteSiteSaga]);

  it('matches the API shape the CLI parses', () => {
    expect(sagaDefinitions.parse(view)).toEqual(view);
  });

  it('lists CreateSite stage by stage, the parallel group as one stage, with commands, handlers and compensations from the catalogue', () => {
    const createSite = view.items[0]!;
    expect(createSite.type).toBe('CreateSite');
    expect(createSite.timeScale).toBe(0.1);
    expect(createSite.stages.map((stage) => [stage.parallel, stage.steps.map((step) => step.name)])).toEqual([
      [false, ['ReserveSite']],
      [true, ['ProvisionStorage', 'ProvisionDatabase']],
      [false, ['BootstrapSite']],
      [false, ['ActivateSite']],
    ]);
    const database = createSite.stages[1]!.steps[1]!;
    expect(database.command).toEqual({
      type: 'ProvisionDatabase',
      topic: 'databases.commands',
      service: 'databases',
      succeeded: 'DatabaseProvisioned',
      failed: 'DatabaseProvisioningFailed',
    });
    expect(database.timeoutMs).toBe(6000); // 60 s, scaled by 0.1
    expect(database.compensation?.command).toMatchObject({ type: 'DropDatabase', service: 'databases' });
    expect(createSite.stages[2]!.steps[0]!.compensation).toBeNull();
  });

  it('says DeleteSite stops when exhausted and has no compensations', () => {
    const deleteSite = view.items[1]!;
    expect(deleteSite.whenExhausted).toBe('stop');
    expect(deleteSite.stages.flatMap((stage) => stage.steps).every((step) => step.compensation === null)).toBe(true);
  });
});
