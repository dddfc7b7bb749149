import {
  ActivateSite,
  BootstrapSite,
  DeprovisionStorage,
  DropDatabase,
  MarkSiteDeleting,
  ProvisionDatabase,
  ProvisionStorage,
  ReleaseSite,
  ReserveSite,
} from '@sitesaga/contracts';
import { SagaScript, UnroutableReply } from '@sitesaga/saga';
import { type CreateSiteData, createSiteSaga } from './create-site.saga';

/**
 * The create-site saga as a script, command → reply, with no broker and no database
 * (Eventuate's saga unit tests): given these replies, these commands and this end state.
 */
const SITE: CreateSiteData = {
  siteId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  name: 'my-blog',
  domain: 'blog.example.com',
  adminEmail: 'owner@example.com',
};
const SEALED = 'v1.aXY.Y2lwaGVy.dGFn';
const DATABASE = { databaseName: 'site_3f2504e04f8911d39a0c0305e82c3301', roleName: 'site_3f2504e04f8911d39a0c0305e82c3301', credentials: SEALED };

function script(): SagaScript<CreateSiteData> {
  const run = new SagaScript(createSiteSaga, (data) => ({ siteId: data.siteId }));
  run.start(SITE, SITE.siteId);
  return run;
}

/** Reserved, with storage and database provisioned: BootstrapSite is out. */
function provisioned(): SagaScript<CreateSiteData> {
  const run = script();
  run.succeed(ReserveSite, { name: SITE.name, domain: SITE.domain });
  run.succeed(ProvisionStorage, { path: `/srv/sites/${SITE.siteId}` });
  run.succeed(ProvisionDatabase, DATABASE);
  return run;
}

const states = (run: SagaScript<CreateSiteData>) => Object.fromEntries(run.saga.steps.map((step) => [step.name, step.state]));

describe('create-site saga', () => {
  it('reserves, provisions storage and database at once, bootstraps, activates, and announces the site', () => {
    const run = script();
    expect(run.justSent()).toEqual(['SiteCreationStarted', 'ReserveSite']);
    expect(run.lastSent('ReserveSite').payload).toEqual({ siteId: SITE.siteId, name: 'my-blog', domain: 'blog.example.com', adminEmail: 'owner@example.com' });

    run.succeed(ReserveSite, { name: SITE.name, domain: SITE.domain });
    expect(run.justSent()).toEqual(['ProvisionStorage', 'ProvisionDatabase']);

    run.succeed(ProvisionDatabase, DATABASE);
    expect(run.justSent()).toEqual([]); // the join waits for storage
    run.succeed(ProvisionStorage, { path: `/srv/sites/${SITE.siteId}` });
    expect(run.justSent()).toEqual(['BootstrapSite']);
    expect(run.lastSent('BootstrapSite').payload).toMatchObject({ siteId: SITE.siteId, databaseName: DATABASE.databaseName, credentials: SEALED });

    run.succeed(BootstrapSite, { adminUser: 'admin' });
    expect(run.justSent()).toEqual(['ActivateSite']);
    run.succeed(ActivateSite, { url: 'https://blog.example.com' });

    expect(run.saga.status).toBe('COMPLETED');
    expect(run.justSent()).toEqual(['SiteCreated']);
    expect(run.lastSent('SiteCreated').payload).toEqual({ siteId: SITE.siteId, name: 'my-blog', domain: 'blog.example.com', url: 'https://blog.example.com' });
  });

  it('rejects the request with the fields the sites service named when the name is taken, undoing nothing', () => {
    const run = script();
    run.fail(ReserveSite, 'business', 'name taken; domain taken', [
      { field: 'name', message: 'taken' },
      { field: 'domain', message: 'taken' },
    ]);

    expect(run.saga.status).toBe('COMPENSATED');
    expect(run.justSent()).toEqual(['SiteCreationRejected']);
    expect(run.lastSent('SiteCreationRejected').payload).toEqual({
      reasons: [
        { field: 'name', message: 'taken' },
        { field: 'domain', message: 'taken' },
      ],
    });
    expect(states(run)).toEqual({
      ReserveSite: 'FAILED',
      ProvisionStorage: 'SKIPPED',
      ProvisionDatabase: 'SKIPPED',
      BootstrapSite: 'SKIPPED',
      ActivateSite: 'SKIPPED',
    });
  });

  it('rejects the request for the site as a whole when the refusal names no field', () => {
    const run = script();
    run.fail(ReserveSite, 'business', 'site is FAILED');

    expect(run.lastSent('SiteCreationRejected').payload).toEqual({ reasons: [{ field: 'site', message: 'site is FAILED' }] });
  });

  it('undoes the storage that succeeded, then the reservation, when the database is refused', () => {
    const run = script();
    run.succeed(ReserveSite, { name: SITE.name, domain: SITE.domain });
    run.succeed(ProvisionStorage, { path: `/srv/sites/${SITE.siteId}` });
    run.fail(ProvisionDatabase, 'business', 'quota exceeded');

    expect(run.justSent()).toEqual(['DeprovisionStorage']); // the refused database did nothing: no DropDatabase
    run.succeed(DeprovisionStorage);
    expect(run.justSent()).toEqual(['ReleaseSite']);
    run.succeed(ReleaseSite);

    expect(run.saga.status).toBe('COMPENSATED');
    expect(run.justSent()).toEqual(['SiteCreationFailed']);
    expect(run.lastSent('SiteCreationFailed').payload).toEqual({ siteId: SITE.siteId, failedStep: 'ProvisionDatabase', reason: 'quota exceeded' });
  });

  it('drops the database and the directory together, then releases the site, when bootstrap fails', () => {
    const run = provisioned();
    run.fail(BootstrapSite, 'business', 'credentials do not open');

    expect(run.justSent()).toEqual(['DeprovisionStorage', 'DropDatabase']);
    run.succeed(DropDatabase);
    expect(run.justSent()).toEqual([]); // reverse order: the reservation waits for both
    run.succeed(DeprovisionStorage);
    expect(run.justSent()).toEqual(['ReleaseSite']);
    run.succeed(ReleaseSite);

    expect(run.saga.status).toBe('COMPENSATED');
    expect(run.lastSent('SiteCreationFailed').payload).toMatchObject({ failedStep: 'BootstrapSite' });
  });

  it('undoes a storage step that never answered, as maybe done, once its attempts are spent', () => {
    const run = script();
    run.succeed(ReserveSite, { name: SITE.name, domain: SITE.domain });
    run.succeed(ProvisionDatabase, DATABASE);
    for (let attempt = 1; attempt <= 5; attempt++) {
      run.passDeadline('ProvisionStorage'); // no reply: backs off
      if (attempt < 5) run.passDeadline('ProvisionStorage'); // sent again
    }

    expect(run.saga.status).toBe('COMPENSATING');
    expect(run.step('ProvisionStorage')).toMatchObject({ state: 'COMPENSATING', attempts: 5, mayHaveTakenEffect: true });
    expect(run.justSent().sort()).toEqual(['DeprovisionStorage', 'DropDatabase']);
  });

  it('ends FAILED and asks a person when dropping the database keeps failing, leaving the reservation alone', () => {
    const run = provisioned();
    run.fail(BootstrapSite, 'business', 'credentials do not open');
    run.succeed(DeprovisionStorage);
    run.exhaust(DropDatabase, 'ProvisionDatabase', 5);

    expect(run.saga.status).toBe('FAILED');
    expect(states(run)).toMatchObject({ ProvisionStorage: 'COMPENSATED', ProvisionDatabase: 'FAILED', ReserveSite: 'SUCCEEDED' });
    expect(run.justSent()).toEqual(['SagaNeedsAttention']);
    expect(run.lastSent('SagaNeedsAttention').payload).toEqual({
      siteId: SITE.siteId,
      sagaType: 'CreateSite',
      step: 'ProvisionDatabase',
      reason: 'compensation: connection refused (gave up after 5 attempts)',
    });
    expect(run.sent.map((envelope) => envelope.type)).not.toContain('ReleaseSite');
  });

  it('finishes undoing when an operator retries the stuck compensation and it then succeeds', () => {
    const run = provisioned();
    run.fail(BootstrapSite, 'business', 'credentials do not open');
    run.succeed(DeprovisionStorage);
    run.exhaust(DropDatabase, 'ProvisionDatabase', 5);

    run.input({ kind: 'retry', requestId: 'operator-1' });
    expect(run.justSent()).toEqual(['DropDatabase']);
    run.succeed(DropDatabase);
    expect(run.justSent()).toEqual(['ReleaseSite']);
    run.succeed(ReleaseSite);

    expect(run.saga.status).toBe('COMPENSATED');
    expect(run.justSent()).toEqual(['SiteCreationFailed']);
  });

  it('refuses a reply to a command it never sends instead of dropping it', () => {
    const run = script();
    const stray = MarkSiteDeleting.succeeded.create({ siteId: SITE.siteId }, { sagaId: SITE.siteId, correlationId: 'c', causationId: null });

    expect(() => run.input({ kind: 'reply', envelope: stray })).toThrow(UnroutableReply);
  });

  it('subscribes to the replies of every command it sends, forward and undo', () => {
    expect(createSiteSaga.replies.map((event) => event.type).sort()).toEqual(
      [ReserveSite, ReleaseSite, ProvisionStorage, DeprovisionStorage, ProvisionDatabase, DropDatabase, BootstrapSite, ActivateSite]
        .flatMap((command) => [command.succeeded.type, command.failed.type])
        .sort(),
    );
  });
});
