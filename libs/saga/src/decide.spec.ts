import {
  ActivateSite,
  BootstrapSite,
  DeprovisionStorage,
  DropDatabase,
  ProvisionDatabase,
  ProvisionStorage,
  ReleaseSite,
  ReserveSite,
} from '@sitesaga/contracts';
import { SagaTransitionRefused } from './errors';
import { SagaScript } from './testing/saga-script';
import { SEALED_CREDENTIALS, type TestSiteData, testSaga } from './testing/test-saga';

const site: TestSiteData = { siteId: '11111111-1111-4111-8111-111111111111', name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com' };
const databaseProvisioned = { databaseName: 'site_my_blog', roleName: 'site_my_blog', credentials: SEALED_CREDENTIALS };
const SECOND = 1_000;

/** A saga that has reserved its site and sent both provisioning commands. */
function provisioning(): SagaScript<TestSiteData> {
  const script = new SagaScript(testSaga);
  script.start(site);
  script.succeed(ReserveSite, { name: site.name, domain: site.domain });
  return script;
}

const states = (script: SagaScript<TestSiteData>) => Object.fromEntries(script.saga.steps.map((step) => [step.name, step.state]));

describe('decide: the forward path', () => {
  it('announces the saga and sends only ReserveSite when it starts', () => {
    const script = new SagaScript(testSaga);
    script.start(site);

    expect(script.justSent()).toEqual(['SiteCreationStarted', 'ReserveSite']);
    expect(script.saga.status).toBe('RUNNING');
    expect(script.saga.searchKey).toBe('my-blog');
    const reserve = script.lastSent('ReserveSite');
    expect(reserve).toMatchObject({ sagaId: script.saga.id, correlationId: 'correlation-1', causationId: 'create-site-request-1' });
    expect(script.step('ReserveSite')).toMatchObject({ state: 'RUNNING', attempts: 1, deadlineKind: 'reply', lastMessageId: reserve.id });
    expect(script.step('ReserveSite').deadlineAt).toEqual(new Date(script.now.getTime() + 30 * SECOND));
    expect(script.last?.history.map((entry) => `${entry.direction} ${entry.type}`)).toEqual(['in CreateSite', 'out SiteCreationStarted', 'out ReserveSite']);
  });

  it('sends both provisioning commands at once when the site is reserved, caused by the reply', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    const reply = script.replyTo(ReserveSite, 'succeeded', { siteId: site.siteId, name: site.name, domain: site.domain });
    script.input({ kind: 'reply', envelope: reply });

    expect(script.justSent()).toEqual(['ProvisionStorage', 'ProvisionDatabase']);
    expect(script.last?.outgoing.every((envelope) => envelope.causationId === reply.id)).toBe(true);
    expect(script.step('ProvisionDatabase').deadlineAt).toEqual(new Date(script.now.getTime() + 60 * SECOND));
  });

  it('sends BootstrapSite only after DatabaseProvisioned when StorageProvisioned came first', () => {
    const script = provisioning();

    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    expect(script.justSent()).toEqual([]);
    expect(states(script)).toMatchObject({ ProvisionStorage: 'SUCCEEDED', ProvisionDatabase: 'RUNNING', BootstrapSite: 'PENDING' });

    script.succeed(ProvisionDatabase, databaseProvisioned);
    expect(script.justSent()).toEqual(['BootstrapSite']);
    expect(script.lastSent('BootstrapSite').payload).toMatchObject({ databaseName: 'site_my_blog', credentials: SEALED_CREDENTIALS });
  });

  it('sends BootstrapSite only after StorageProvisioned when DatabaseProvisioned came first', () => {
    const script = provisioning();

    script.succeed(ProvisionDatabase, databaseProvisioned);
    expect(script.justSent()).toEqual([]);

    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    expect(script.justSent()).toEqual(['BootstrapSite']);
  });

  it('completes and announces the site when every step succeeded, leaving no deadline behind', () => {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    script.succeed(ProvisionDatabase, databaseProvisioned);
    script.succeed(BootstrapSite, { adminUser: 'admin' });
    expect(script.justSent()).toEqual(['ActivateSite']);

    script.succeed(ActivateSite, { url: 'https://blog.example.com' });

    expect(script.saga.status).toBe('COMPLETED');
    expect(script.justSent()).toEqual(['SiteCreated']);
    expect(script.lastSent('SiteCreated').payload).toEqual({ siteId: site.siteId, name: 'my-blog', domain: 'blog.example.com', url: 'https://blog.example.com' });
    expect(script.saga.steps.every((step) => step.state === 'SUCCEEDED' && step.deadlineAt === null)).toBe(true);
  });
});

describe('decide: failures', () => {
  it('compensates nothing when ReserveSite is refused for a business reason, and ends COMPENSATED', () => {
    const script = new SagaScript(testSaga);
    script.start(site);

    script.fail(ReserveSite, 'business', 'name taken');

    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.justSent()).toEqual(['SiteCreationFailed']);
    expect(script.lastSent('SiteCreationFailed').payload).toEqual({ siteId: site.siteId, failedStep: 'ReserveSite', reason: 'name taken' });
    expect(states(script)).toEqual({ ReserveSite: 'FAILED', ProvisionStorage: 'SKIPPED', ProvisionDatabase: 'SKIPPED', BootstrapSite: 'SKIPPED', ActivateSite: 'SKIPPED' });
    expect(script.step('ReserveSite')).toMatchObject({ mayHaveTakenEffect: false, compensationAttempts: 0, error: 'name taken' });
  });

  it('re-sends after a transient failure once the backoff passed, with a new message id, counting attempts', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    const first = script.lastSent('ReserveSite');

    script.fail(ReserveSite, 'transient', 'connection reset');
    expect(script.justSent()).toEqual([]);
    expect(script.step('ReserveSite')).toMatchObject({ state: 'RUNNING', attempts: 1, deadlineKind: 'resend', error: 'connection reset' });
    expect(script.step('ReserveSite').deadlineAt).toEqual(new Date(script.now.getTime() + 1 * SECOND));

    script.passDeadline('ReserveSite');
    const second = script.lastSent('ReserveSite');
    expect(script.justSent()).toEqual(['ReserveSite']);
    expect(second.id).not.toBe(first.id);
    expect(second.payload).toEqual(first.payload);
    expect(script.step('ReserveSite')).toMatchObject({ state: 'RUNNING', attempts: 2, deadlineKind: 'reply', lastMessageId: second.id });
    expect(script.step('ReserveSite').deadlineAt).toEqual(new Date(script.now.getTime() + 30 * SECOND));

    script.fail(ReserveSite, 'transient', 'connection reset');
    expect(script.step('ReserveSite').deadlineAt).toEqual(new Date(script.now.getTime() + 2 * SECOND)); // backoff doubled
  });

  it('backs off after a reply deadline passes before re-sending', () => {
    const script = new SagaScript(testSaga);
    script.start(site);

    script.passDeadline('ReserveSite');
    expect(script.justSent()).toEqual([]);
    expect(script.step('ReserveSite')).toMatchObject({ attempts: 1, deadlineKind: 'resend', error: 'no reply within 30000 ms' });

    script.passDeadline('ReserveSite');
    expect(script.justSent()).toEqual(['ReserveSite']);
    expect(script.step('ReserveSite').attempts).toBe(2);
  });

  it('undoes storage and database together, then the reservation, when ProvisionDatabase never answers', () => {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });

    script.passDeadline('ProvisionDatabase'); // no reply to send 1
    script.passDeadline('ProvisionDatabase'); // send 2
    script.passDeadline('ProvisionDatabase'); // no reply to send 2
    script.passDeadline('ProvisionDatabase'); // send 3
    expect(script.step('ProvisionDatabase').attempts).toBe(3);
    script.passDeadline('ProvisionDatabase'); // no reply to send 3: attempts spent

    expect(script.saga.status).toBe('COMPENSATING');
    expect(script.justSent()).toEqual(['DeprovisionStorage', 'DropDatabase']);
    expect(script.step('ProvisionDatabase')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true, compensationAttempts: 1 });
    expect(states(script)).toMatchObject({ ReserveSite: 'SUCCEEDED', ProvisionStorage: 'COMPENSATING', BootstrapSite: 'SKIPPED', ActivateSite: 'SKIPPED' });

    script.succeed(DropDatabase);
    expect(script.justSent()).toEqual([]); // the group is undone together before the stage below it
    script.succeed(DeprovisionStorage);
    expect(script.justSent()).toEqual(['ReleaseSite']);

    script.succeed(ReleaseSite);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.justSent()).toEqual(['SiteCreationFailed']);
    expect(script.lastSent('SiteCreationFailed').payload).toEqual({
      siteId: site.siteId,
      failedStep: 'ProvisionDatabase',
      reason: 'no reply within 60000 ms (gave up after 3 attempts)',
    });
    expect(states(script)).toEqual({
      ReserveSite: 'COMPENSATED',
      ProvisionStorage: 'COMPENSATED',
      ProvisionDatabase: 'COMPENSATED',
      BootstrapSite: 'SKIPPED',
      ActivateSite: 'SKIPPED',
    });
    expect(script.saga.steps.every((step) => step.deadlineAt === null)).toBe(true);
  });

  it('undoes a sibling still running when its partner is refused, and ignores the sibling’s late success', () => {
    const script = provisioning();

    script.fail(ProvisionDatabase, 'business', 'quota exceeded');
    expect(script.justSent()).toEqual(['DeprovisionStorage']);
    expect(script.step('ProvisionStorage')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true });
    expect(script.step('ProvisionDatabase')).toMatchObject({ state: 'FAILED', mayHaveTakenEffect: false, compensationAttempts: 0 });

    const before = script.saga;
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    expect(script.last?.ignored).toMatch(/ProvisionStorage is COMPENSATING/);
    expect(script.saga).toBe(before);
    expect(script.last?.history.map((entry) => entry.type)).toEqual(['StorageProvisioned']);

    script.succeed(DeprovisionStorage);
    expect(script.justSent()).toEqual(['ReleaseSite']);
  });

  it('flags the saga FAILED and needing attention when a compensation runs out of attempts, without undoing earlier stages', () => {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    script.fail(ProvisionDatabase, 'business', 'quota exceeded');
    expect(script.justSent()).toEqual(['DeprovisionStorage']);

    script.fail(DeprovisionStorage, 'business', 'directory busy'); // compensations retry whatever the class
    expect(script.step('ProvisionStorage')).toMatchObject({ state: 'COMPENSATING', compensationAttempts: 1, deadlineKind: 'resend' });
    script.passDeadline('ProvisionStorage');
    expect(script.justSent()).toEqual(['DeprovisionStorage']);
    script.fail(DeprovisionStorage, 'transient', 'disk unavailable');
    script.passDeadline('ProvisionStorage');
    script.passDeadline('ProvisionStorage'); // no reply to send 3

    expect(script.saga.status).toBe('FAILED');
    expect(script.justSent()).toEqual(['SagaNeedsAttention']);
    expect(script.lastSent('SagaNeedsAttention').payload).toEqual({
      siteId: site.siteId,
      sagaType: 'TestCreateSite',
      step: 'ProvisionStorage',
      reason: 'compensation: no reply within 30000 ms (gave up after 3 attempts)',
    });
    expect(script.saga.failure).toMatchObject({ failedStep: 'ProvisionDatabase', cause: 'business', stuck: [{ step: 'ProvisionStorage' }] });
    expect(states(script)).toMatchObject({ ReserveSite: 'SUCCEEDED', ProvisionStorage: 'FAILED' });
    expect(script.sent.map((envelope) => envelope.type)).not.toContain('ReleaseSite');
  });

  it('leaves a step without compensation FAILED and undoes the rest when it exhausts its attempts', () => {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    script.succeed(ProvisionDatabase, databaseProvisioned);
    for (let send = 1; send <= 3; send += 1) {
      script.fail(BootstrapSite, 'transient', 'database starting up');
      if (send < 3) script.passDeadline('BootstrapSite');
    }

    expect(script.step('BootstrapSite')).toMatchObject({ state: 'FAILED', mayHaveTakenEffect: true, attempts: 3 });
    expect(script.justSent()).toEqual(['DeprovisionStorage', 'DropDatabase']);
    script.succeed(DeprovisionStorage);
    script.succeed(DropDatabase);
    script.succeed(ReleaseSite);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(states(script)).toMatchObject({ BootstrapSite: 'FAILED', ActivateSite: 'SKIPPED' });
  });

  it('keeps a succeeded step without compensation SUCCEEDED when a later step is undone', () => {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    script.succeed(ProvisionDatabase, databaseProvisioned);
    script.succeed(BootstrapSite, { adminUser: 'admin' });

    script.fail(ActivateSite, 'business', 'domain blocked');

    expect(script.justSent()).toEqual(['DeprovisionStorage', 'DropDatabase']);
    expect(states(script)).toMatchObject({ BootstrapSite: 'SUCCEEDED', ActivateSite: 'FAILED' });
  });
});

describe('decide: late and duplicate messages', () => {
  it('records a duplicate success of a step already SUCCEEDED and changes nothing', () => {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    const before = script.saga;

    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });

    expect(script.saga).toBe(before);
    expect(script.justSent()).toEqual([]);
    expect(script.last?.ignored).toMatch(/ProvisionStorage is SUCCEEDED/);
    expect(script.last?.history).toEqual([expect.objectContaining({ direction: 'in', type: 'StorageProvisioned', topic: 'storage.events', step: 'ProvisionStorage' })]);
  });

  it('does not count a transient failure of an earlier send twice', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    const staleFailure = script.replyTo(ReserveSite, 'failed', { siteId: site.siteId, reason: 'connection reset', class: 'transient' });
    script.input({ kind: 'reply', envelope: staleFailure });
    script.passDeadline('ReserveSite'); // send 2 is out

    script.input({ kind: 'reply', envelope: { ...staleFailure, id: 'redelivered-copy' } });

    expect(script.last?.ignored).toMatch(/earlier send/);
    expect(script.step('ReserveSite')).toMatchObject({ attempts: 2, deadlineKind: 'reply' });
  });

  it('accepts a late success of an earlier send while the step backs off', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    script.passDeadline('ReserveSite'); // backing off

    script.succeed(ReserveSite, { name: site.name, domain: site.domain });

    expect(script.step('ReserveSite').state).toBe('SUCCEEDED');
    expect(script.justSent()).toEqual(['ProvisionStorage', 'ProvisionDatabase']);
  });

  it('records an event no step of the saga answers to and changes nothing', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    const stray = DropDatabase.succeeded.create({ siteId: site.siteId }, { sagaId: script.saga.id, correlationId: 'x', causationId: null });
    const foreign = { ...stray, type: 'SomethingElse' };

    script.input({ kind: 'reply', envelope: foreign });

    expect(script.last?.ignored).toMatch(/no step of TestCreateSite answers to SomethingElse/);
  });

  it('ignores a deadline that a reply already moved on, recording nothing', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    script.succeed(ReserveSite, { name: site.name, domain: site.domain });
    script.advance(60 * SECOND);

    const decision = script.input({ kind: 'deadline', step: 'ReserveSite' });

    expect(decision.ignored).not.toBeNull();
    expect(decision.history).toEqual([]);
  });
});

describe('decide: operators', () => {
  function stuck(): SagaScript<TestSiteData> {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });
    script.fail(ProvisionDatabase, 'business', 'quota exceeded');
    for (let send = 1; send <= 3; send += 1) {
      script.fail(DeprovisionStorage, 'transient', 'disk unavailable');
      if (send < 3) script.passDeadline('ProvisionStorage');
    }
    expect(script.saga.status).toBe('FAILED');
    return script;
  }

  it('re-sends the failed compensation with fresh attempts when a FAILED saga is retried, then finishes undoing', () => {
    const script = stuck();
    const previous = script.lastSent('DeprovisionStorage');

    script.input({ kind: 'retry', requestId: 'admin-retry-1' });

    expect(script.saga.status).toBe('COMPENSATING');
    expect(script.justSent()).toEqual(['DeprovisionStorage']);
    expect(script.lastSent('DeprovisionStorage').id).not.toBe(previous.id);
    expect(script.lastSent('DeprovisionStorage').causationId).toBe('admin-retry-1');
    expect(script.step('ProvisionStorage')).toMatchObject({ state: 'COMPENSATING', compensationAttempts: 1 });
    expect(script.saga.failure?.stuck).toEqual([]);

    script.succeed(DeprovisionStorage);
    expect(script.justSent()).toEqual(['ReleaseSite']);
    script.succeed(ReleaseSite);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.lastSent('SiteCreationFailed').payload).toMatchObject({ failedStep: 'ProvisionDatabase', reason: 'quota exceeded' });
  });

  it('re-sends every running step now when a RUNNING saga is retried', () => {
    const script = provisioning();
    script.fail(ProvisionStorage, 'transient', 'disk busy'); // backing off

    script.input({ kind: 'retry' });

    expect(script.justSent()).toEqual(['ProvisionStorage', 'ProvisionDatabase']);
    expect(script.step('ProvisionStorage')).toMatchObject({ attempts: 1, deadlineKind: 'reply' });
  });

  it('compensates a RUNNING saga when it is aborted, recording the reason', () => {
    const script = provisioning();
    script.succeed(ProvisionStorage, { path: '/srv/sites/my-blog' });

    script.input({ kind: 'abort', reason: 'customer cancelled' });

    expect(script.saga.status).toBe('COMPENSATING');
    expect(script.justSent()).toEqual(['DeprovisionStorage', 'DropDatabase']);
    expect(script.saga.failure).toMatchObject({ failedStep: 'ProvisionDatabase', reason: 'aborted: customer cancelled', cause: 'aborted' });
    expect(script.last?.history[0]).toMatchObject({ direction: 'in', type: 'AbortRequested' });
  });

  it('refuses to abort a saga that is not running and to retry a finished one', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    script.fail(ReserveSite, 'business', 'name taken');
    const saga = script.saga;

    expect(() => script.input({ kind: 'abort', reason: 'late' })).toThrow(SagaTransitionRefused);
    expect(() => script.input({ kind: 'retry' })).toThrow(/cannot retry saga .* it is COMPENSATED/);
    expect(script.saga).toBe(saga);
  });
});
