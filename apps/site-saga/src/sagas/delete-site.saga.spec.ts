import { DeprovisionStorage, DropDatabase, MarkSiteDeleted, MarkSiteDeleting } from '@sitesaga/contracts';
import { SagaScript } from '@sitesaga/saga';
import { type DeleteSiteData, deleteSiteSaga } from './delete-site.saga';

/** The delete-site saga as a script: given these replies, these commands and this end state. */
const SITE_ID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const SAGA_ID = '9b2f7f0e-6c4a-4d38-9f61-2d8e7f1a0c55';

function script(): SagaScript<DeleteSiteData> {
  const run = new SagaScript(deleteSiteSaga, (data) => ({ siteId: data.siteId }));
  run.start({ siteId: SITE_ID }, SAGA_ID);
  return run;
}

/** Marked DELETING: storage and database removal are out. */
function removing(): SagaScript<DeleteSiteData> {
  const run = script();
  run.succeed(MarkSiteDeleting);
  return run;
}

describe('delete-site saga', () => {
  it('marks the site deleting, removes storage and database at once, marks it deleted and announces it', () => {
    const run = script();
    expect(run.justSent()).toEqual(['MarkSiteDeleting']);
    run.succeed(MarkSiteDeleting);
    expect(run.justSent()).toEqual(['DeprovisionStorage', 'DropDatabase']);
    run.succeed(DropDatabase);
    expect(run.justSent()).toEqual([]);
    run.succeed(DeprovisionStorage);
    expect(run.justSent()).toEqual(['MarkSiteDeleted']);
    run.succeed(MarkSiteDeleted);

    expect(run.saga.status).toBe('COMPLETED');
    expect(run.justSent()).toEqual(['SiteDeleted']);
    expect(run.lastSent('SiteDeleted').payload).toEqual({ siteId: SITE_ID });
  });

  it('ends cleanly with SiteDeletionFailed, and no call for a person, when the site cannot be marked deleting', () => {
    const run = script();
    run.fail(MarkSiteDeleting, 'business', 'site is still being created');

    expect(run.saga.status).toBe('COMPENSATED');
    expect(run.justSent()).toEqual(['SiteDeletionFailed']);
    expect(run.lastSent('SiteDeletionFailed').payload).toEqual({ siteId: SITE_ID, failedStep: 'MarkSiteDeleting', reason: 'site is still being created' });
  });

  it('stops FAILED where it stands and asks a person when the database cannot be dropped within its attempts', () => {
    const run = removing();
    run.succeed(DeprovisionStorage);
    run.exhaust(DropDatabase, 'DropDatabase', 8, 'database is in use');

    expect(run.saga.status).toBe('FAILED');
    expect(run.justSent()).toEqual(['SagaNeedsAttention']);
    expect(run.lastSent('SagaNeedsAttention').payload).toEqual({
      siteId: SITE_ID,
      sagaType: 'DeleteSite',
      step: 'DropDatabase',
      reason: 'database is in use (gave up after 8 attempts)',
    });
    expect(run.sent.map((envelope) => envelope.type)).not.toContain('MarkSiteDeleted');
  });

  it('goes on forward from the stuck step when an operator retries it', () => {
    const run = removing();
    run.succeed(DeprovisionStorage);
    run.exhaust(DropDatabase, 'DropDatabase', 8, 'database is in use');

    run.input({ kind: 'retry', requestId: 'operator-1' });
    expect(run.justSent()).toEqual(['DropDatabase']);
    run.succeed(DropDatabase);
    expect(run.justSent()).toEqual(['MarkSiteDeleted']);
    run.succeed(MarkSiteDeleted);
    expect(run.saga.status).toBe('COMPLETED');
  });

  it('fails and asks a person when a removal is refused after the site was marked deleting', () => {
    const run = removing();
    run.succeed(DeprovisionStorage);
    run.fail(DropDatabase, 'business', 'database belongs to another site');

    expect(run.saga.status).toBe('COMPENSATED'); // nothing of a deletion can be undone
    expect(run.justSent()).toEqual(['SiteDeletionFailed', 'SagaNeedsAttention']);
    expect(run.lastSent('SagaNeedsAttention').payload).toMatchObject({ siteId: SITE_ID, step: 'DropDatabase', reason: 'database belongs to another site' });
  });
});
