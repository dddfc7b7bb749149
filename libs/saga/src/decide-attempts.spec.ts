import {
  causedBy,
  DropDatabase,
  MarkSiteDeleted,
  MarkSiteDeleting,
  ReleaseSite,
  ReserveSite,
  SagaNeedsAttention,
  SiteDeleted,
  DeprovisionStorage,
} from '@sitesaga/contracts';
import { defineSaga, emit, parallel, step } from './define-saga';
import { SagaScript } from './testing/saga-script';
import { type TestSiteData, testSaga } from './testing/test-saga';

const site: TestSiteData = { siteId: '11111111-1111-4111-8111-111111111111', name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com' };

/** Shaped like the delete-site saga: nothing to undo, so a step out of attempts stops for a person. */
const stoppingSaga = defineSaga<{ siteId: string }>({
  type: 'TestDeleteSite',
  defaults: { timeout: '30s', retry: { maxAttempts: 2, backoff: '1s', factor: 2, jitter: 0 } },
  whenExhausted: 'stop',
  stages: [
    step('MarkSiteDeleting', (d) => ({ command: MarkSiteDeleting, payload: { siteId: d.siteId } })),
    parallel(
      step('DeprovisionStorage', (d) => ({ command: DeprovisionStorage, payload: { siteId: d.siteId } })),
      step('DropDatabase', (d) => ({ command: DropDatabase, payload: { siteId: d.siteId } })),
    ),
    step('MarkSiteDeleted', (d) => ({ command: MarkSiteDeleted, payload: { siteId: d.siteId } })),
  ],
  onCompleted: (d) => [emit(SiteDeleted, { siteId: d.siteId })],
  onNeedsAttention: (d, attention, context) => [
    emit(SagaNeedsAttention, { siteId: d.siteId, sagaType: context.sagaType, step: attention.step, reason: attention.reason }),
  ],
});

describe('decide: replies are matched to the send they answer', () => {
  /** ReserveSite sent twice: the first send got no answer in time, the second is out. */
  function reservedTwice(): { script: SagaScript<TestSiteData>; first: ReturnType<SagaScript<TestSiteData>['lastSent']> } {
    const script = new SagaScript(testSaga);
    script.start(site);
    const first = script.lastSent('ReserveSite');
    script.passDeadline('ReserveSite'); // no reply: back off
    script.passDeadline('ReserveSite'); // re-send
    expect(script.step('ReserveSite').attempts).toBe(2);
    return { script, first };
  }

  it('lets a refusal of an earlier send decide nothing while a later send may still succeed', () => {
    const { script, first } = reservedTwice();

    const staleRefusal = ReserveSite.failed.create({ siteId: site.siteId, reason: 'name taken', class: 'business' }, causedBy(first), {
      id: script.newId(),
      occurredAt: script.now,
    });
    const decision = script.input({ kind: 'reply', envelope: staleRefusal });

    expect(decision.ignored).toMatch(/earlier send/);
    expect(script.saga.status).toBe('RUNNING');
    expect(script.step('ReserveSite')).toMatchObject({ state: 'RUNNING', attempts: 2 });
    // The later send succeeds: the saga goes on as if the stale refusal never came.
    script.succeed(ReserveSite, { name: site.name, domain: site.domain });
    expect(script.justSent()).toEqual(['ProvisionStorage', 'ProvisionDatabase']);
  });

  it('undoes a step refused on a later send when an earlier send never got an answer', () => {
    const { script } = reservedTwice();

    script.fail(ReserveSite, 'business', 'name taken');

    // The first send may have reserved the site: it is released (idempotently) before the saga ends.
    expect(script.justSent()).toEqual(['ReleaseSite']);
    expect(script.step('ReserveSite')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true });
    script.succeed(ReleaseSite);
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.saga.failure).toMatchObject({ failedStep: 'ReserveSite', cause: 'business' });
  });

  it('undoes nothing when the refusal answers the only send', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    script.fail(ReserveSite, 'business', 'name taken');
    expect(script.saga.status).toBe('COMPENSATED');
    expect(script.step('ReserveSite')).toMatchObject({ state: 'FAILED', mayHaveTakenEffect: false, compensationAttempts: 0 });
  });
});

describe('decide: a saga that cannot be undone stops when a step runs out of attempts', () => {
  const siteId = site.siteId;

  function exhaustedStorage(): SagaScript<{ siteId: string }> {
    const script = new SagaScript(stoppingSaga);
    script.start({ siteId });
    script.succeed(MarkSiteDeleting);
    script.succeed(DropDatabase);
    script.fail(DeprovisionStorage, 'transient', 'disk busy');
    script.passDeadline('DeprovisionStorage'); // re-send, attempt 2
    script.fail(DeprovisionStorage, 'transient', 'disk busy');
    return script;
  }

  it('ends FAILED, not COMPENSATED, and asks a person to look', () => {
    const script = exhaustedStorage();

    expect(script.saga.status).toBe('FAILED');
    expect(script.saga.failure).toMatchObject({ failedStep: 'DeprovisionStorage', cause: 'exhausted', stuck: [{ step: 'DeprovisionStorage' }] });
    expect(script.justSent()).toEqual(['SagaNeedsAttention']);
    expect(script.lastSent('SagaNeedsAttention').payload).toMatchObject({ siteId, sagaType: 'TestDeleteSite', step: 'DeprovisionStorage' });
    expect(script.step('DeprovisionStorage')).toMatchObject({ state: 'FAILED', attempts: 2, deadlineAt: null });
    expect(script.saga.steps.every((step) => step.deadlineAt === null)).toBe(true);
    expect(script.sent.map((envelope) => envelope.type)).not.toContain('SiteDeletionFailed');
  });

  it('goes on from the stopped step with fresh attempts when an operator retries it, and completes', () => {
    const script = exhaustedStorage();

    script.input({ kind: 'retry', requestId: 'operator-1' });

    expect(script.saga.status).toBe('RUNNING');
    expect(script.saga.failure).toBeNull();
    expect(script.justSent()).toEqual(['DeprovisionStorage']);
    expect(script.step('DeprovisionStorage')).toMatchObject({ state: 'RUNNING', attempts: 1, error: null });
    expect(script.step('DropDatabase').state).toBe('SUCCEEDED');
    script.succeed(DeprovisionStorage);
    script.succeed(MarkSiteDeleted);
    expect(script.saga.status).toBe('COMPLETED');
    expect(script.justSent()).toEqual(['SiteDeleted']);
  });

  it('leaves a sibling still waiting without a deadline while stopped, and sends it again on retry', () => {
    const script = new SagaScript(stoppingSaga);
    script.start({ siteId });
    script.succeed(MarkSiteDeleting);
    script.fail(DeprovisionStorage, 'transient', 'disk busy');
    script.passDeadline('DeprovisionStorage');
    script.fail(DeprovisionStorage, 'transient', 'disk busy');

    expect(script.saga.status).toBe('FAILED');
    expect(script.step('DropDatabase')).toMatchObject({ state: 'RUNNING', deadlineAt: null });

    script.input({ kind: 'retry' });
    expect(script.justSent().sort()).toEqual(['DeprovisionStorage', 'DropDatabase']);
  });
});

describe('decide: deadlines left on steps that wait for nothing', () => {
  it('clears a passed deadline of a saga that already ended instead of ignoring it forever', () => {
    const script = new SagaScript(testSaga);
    script.start(site);
    const ended = { ...script.saga, status: 'COMPLETED' as const };
    script.state = ended;

    const decision = script.passDeadline('ReserveSite');

    expect(decision.ignored).toBeNull();
    expect(decision.outgoing).toEqual([]);
    expect(script.step('ReserveSite')).toMatchObject({ state: 'RUNNING', deadlineAt: null, deadlineKind: null });
  });
});

describe('decide: a transient failure during an outage spends no attempt', () => {
  it('keeps re-sending through more transient failures than the budget while the host reports an outage, then counts again', () => {
    const script = new SagaScript(testSaga); // maxAttempts 3
    script.start(site);
    const failDuringOutage = () =>
      script.input({
        kind: 'reply',
        envelope: script.replyTo(ReserveSite, 'failed', { siteId: site.siteId, reason: 'connection refused', class: 'transient' }),
        duringOutage: true,
      });

    for (let round = 0; round < 5; round += 1) {
      failDuringOutage();
      expect(script.step('ReserveSite')).toMatchObject({
        state: 'RUNNING',
        deadlineKind: 'resend',
        error: 'connection refused (during an outage: not counted)',
      });
      script.passDeadline('ReserveSite');
    }
    expect(script.sent.filter((envelope) => envelope.type === 'ReserveSite')).toHaveLength(6);
    expect(script.step('ReserveSite').attempts).toBe(1);

    // Outside an outage the budget counts again: two more transient failures and it gives up.
    script.fail(ReserveSite, 'transient', 'connection refused');
    script.passDeadline('ReserveSite');
    script.fail(ReserveSite, 'transient', 'connection refused');
    script.passDeadline('ReserveSite');
    script.fail(ReserveSite, 'transient', 'connection refused');
    expect(script.step('ReserveSite')).toMatchObject({ state: 'COMPENSATING', mayHaveTakenEffect: true });
  });
});
