import { pendingStep, type SagaState, type StepState } from '@sitesaga/saga';
import { allowedActions, detailOf, redactSecrets, summaryOf } from './saga-views';

const step = (name: string, position: number, state: StepState['state']): StepState => ({ ...pendingStep(name, position), state, attempts: state === 'PENDING' ? 0 : 1 });

describe('saga views', () => {
  it('hides any key that looks like a secret, however deep', () => {
    expect(
      redactSecrets({ name: 'blog', password: 'p', database: { credentials: 'c', adminPassword: 'a', list: [{ apiToken: 't', clientSecret: 's' }] }, tokenCount: 3 }),
    ).toEqual({ name: 'blog', password: '[redacted]', database: { credentials: '[redacted]', adminPassword: '[redacted]', list: [{ apiToken: '[redacted]', clientSecret: '[redacted]' }] }, tokenCount: '[redacted]' });
  });

  it('summarises a saga waiting on a parallel group', () => {
    const at = new Date('2024-11-23T10:00:00.000Z');
    const saga: SagaState = {
      id: 'aaaaaaaa-0000-4000-8000-000000000001',
      type: 'CreateSite',
      status: 'RUNNING',
      version: 3,
      definitionVersion: 1,
      waitingFor: null,
      data: { siteId: 'site-1', name: 'blog' },
      failure: null,
      correlationId: 'c',
      searchKey: 'blog',
      createdAt: at,
      updatedAt: at,
      steps: [step('ReserveSite', 0, 'SUCCEEDED'), step('ProvisionStorage', 1, 'RUNNING'), step('ProvisionDatabase', 1, 'RUNNING'), step('BootstrapSite', 2, 'PENDING')],
    };
    expect(summaryOf(saga)).toEqual({
      id: saga.id,
      type: 'CreateSite',
      status: 'RUNNING',
      version: 3,
      siteName: 'blog',
      siteId: 'site-1',
      createdAt: '2024-11-23T10:00:00.000Z',
      updatedAt: '2024-11-23T10:00:00.000Z',
      currentStep: 'ProvisionDatabase, ProvisionStorage',
      definitionVersion: 1,
      versionDeployed: true,
      waitingFor: null,
    });
  });

  it('names the saga a waiting saga waits for, and a version that is not deployed (no actions then)', () => {
    const holder = 'aaaaaaaa-0000-4000-8000-00000000000f';
    const at = new Date('2024-11-23T10:00:00.000Z');
    const waiting: SagaState = {
      id: 'aaaaaaaa-0000-4000-8000-000000000002',
      type: 'DeleteSite',
      status: 'RUNNING',
      version: 1,
      definitionVersion: 2,
      waitingFor: holder,
      data: { siteId: holder },
      failure: null,
      correlationId: 'c',
      searchKey: null,
      createdAt: at,
      updatedAt: at,
      steps: [step('MarkSiteDeleting', 0, 'PENDING')],
    };
    expect(summaryOf(waiting)).toMatchObject({ waitingFor: holder, definitionVersion: 2, versionDeployed: true });
    expect(detailOf(waiting, {}, [], false, [], false)).toMatchObject({ waitingFor: holder, versionDeployed: false, actions: { retry: false, abort: false } });
  });

  it('offers retry to live and FAILED sagas and abort to RUNNING ones only', () => {
    expect(allowedActions('RUNNING')).toEqual({ retry: true, abort: true });
    expect(allowedActions('COMPENSATING')).toEqual({ retry: true, abort: false });
    expect(allowedActions('FAILED')).toEqual({ retry: true, abort: false });
    expect(allowedActions('COMPLETED')).toEqual({ retry: false, abort: false });
    expect(allowedActions('COMPENSATED')).toEqual({ retry: false, abort: false });
  });
});
