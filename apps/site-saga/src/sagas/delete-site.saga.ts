import { DeprovisionStorage, DropDatabase, MarkSiteDeleted, MarkSiteDeleting, SagaNeedsAttention, SiteDeleted, SiteDeletionFailed } from '@sitesaga/contracts';
import { defineSaga, emit, parallel, send, step } from '@sitesaga/saga';
import { siteExclusionKey } from './create-site.saga';

export interface DeleteSiteData {
  readonly siteId: string;
}

/**
 * `MarkSiteDeleting → (DeprovisionStorage || DropDatabase) → MarkSiteDeleted`. Deleting
 * cannot be undone, so its steps have no compensation: a refused MarkSiteDeleting (no such
 * site, or not in a deletable state) ends the saga cleanly; a step that runs out of
 * attempts stops the saga FAILED (`whenExhausted: 'stop'`) with the site still DELETING,
 * asks a person (`SagaNeedsAttention`), and an operator's retry goes on from that step.
 * It shares its site's exclusion key with CreateSite: a delete that arrives while the
 * site's create still runs waits, and begins when the create ends (docs/adr/0008).
 */
export const deleteSiteSaga = defineSaga<DeleteSiteData>({
  type: 'DeleteSite',
  defaults: { timeout: '30s', retry: { maxAttempts: 8, backoff: '1s', factor: 2, jitter: 0.2, maxBackoff: '30s' } },
  stages: [
    step('MarkSiteDeleting', send(MarkSiteDeleting, bySite)),
    parallel(step('DeprovisionStorage', send(DeprovisionStorage, bySite)), step('DropDatabase', send(DropDatabase, bySite), { timeout: '60s' })),
    step('MarkSiteDeleted', send(MarkSiteDeleted, bySite)),
  ],
  whenExhausted: 'stop',
  onCompleted: (d) => [emit(SiteDeleted, { siteId: d.siteId })],
  onCompensated: (d, outcome, context) => {
    const failed = emit(SiteDeletionFailed, { siteId: d.siteId, failedStep: outcome.failedStep, reason: outcome.reason });
    // Refused before anything was removed: nothing for a person to do.
    if (outcome.failedStep === 'MarkSiteDeleting' && outcome.cause === 'business') return [failed];
    return [failed, emit(SagaNeedsAttention, { siteId: d.siteId, sagaType: context.sagaType, step: outcome.failedStep, reason: outcome.reason })];
  },
  onNeedsAttention: (d, attention, context) => [
    emit(SagaNeedsAttention, { siteId: d.siteId, sagaType: context.sagaType, step: attention.step, reason: attention.reason }),
  ],
  searchKey: () => null,
  exclusionKey: (d) => siteExclusionKey(d.siteId),
});

function bySite(d: DeleteSiteData) {
  return { siteId: d.siteId };
}
