import {
  ActivateSite,
  BootstrapSite,
  DeprovisionStorage,
  DropDatabase,
  ProvisionDatabase,
  ProvisionStorage,
  ReleaseSite,
  ReserveSite,
  SagaNeedsAttention,
  SiteCreated,
  SiteCreationFailed,
  SiteCreationRejected,
  SiteCreationStarted,
} from '@sitesaga/contracts';
import { type CompensationOutcome, defineSaga, emit, parallel, send, step } from '@sitesaga/saga';

/** Fixed when the saga starts: every retry and every undo names the same site. */
export interface CreateSiteData {
  /** For a create-site saga the site id is the saga id. */
  readonly siteId: string;
  readonly name: string;
  readonly domain: string;
  readonly tagline?: string;
  readonly adminEmail: string;
  /** Filled by ProvisionDatabase. */
  readonly databaseName?: string;
  /** The site's database login, sealed for bootstrap; never shown (redacted). */
  readonly credentials?: string;
}

export const createSiteSaga = defineSaga<CreateSiteData>({
  type: 'CreateSite',
  defaults: { timeout: '30s', retry: { maxAttempts: 5, backoff: '1s', factor: 2, jitter: 0.2, maxBackoff: '30s' } },
  stages: [
    step('ReserveSite', send(ReserveSite, reservation), { undo: send(ReleaseSite, bySite) }),
    parallel(
      step('ProvisionStorage', send(ProvisionStorage, bySite), { undo: send(DeprovisionStorage, bySite) }),
      step('ProvisionDatabase', send(ProvisionDatabase, bySite), { undo: send(DropDatabase, bySite), timeout: '60s', onSucceeded: rememberDatabase }),
    ),
    step('BootstrapSite', send(BootstrapSite, bootstrapInput)), // lives in storage and database: undone with them
    step('ActivateSite', send(ActivateSite, bySite)),
  ],
  onStarted: (d) => [emit(SiteCreationStarted, { siteId: d.siteId, name: d.name, domain: d.domain })],
  onCompleted: (d) => [emit(SiteCreated, { siteId: d.siteId, name: d.name, domain: d.domain, url: siteUrl(d) })],
  onCompensated: (d, outcome) =>
    isRejection(outcome)
      ? [emit(SiteCreationRejected, { reasons: rejectionReasons(outcome) })]
      : [emit(SiteCreationFailed, { siteId: d.siteId, failedStep: outcome.failedStep, reason: outcome.reason })],
  onNeedsAttention: (d, attention, context) => [
    emit(SagaNeedsAttention, { siteId: d.siteId, sagaType: context.sagaType, step: attention.step, reason: attention.reason }),
  ],
  redact: ['credentials'],
  searchKey: (d) => d.name,
  // Never at once with another saga of the same site (a DeleteSite waits for it): docs/adr/0008.
  exclusionKey: (d) => siteExclusionKey(d.siteId),
});

/** The exclusion key of every saga about one site. */
export const siteExclusionKey = (siteId: string): string => `site:${siteId}`;

function bySite(d: CreateSiteData) {
  return { siteId: d.siteId };
}
function reservation(d: CreateSiteData) {
  return { siteId: d.siteId, name: d.name, domain: d.domain, tagline: d.tagline, adminEmail: d.adminEmail };
}
function rememberDatabase(d: CreateSiteData, provisioned: { databaseName: string; credentials: string }): CreateSiteData {
  return { ...d, databaseName: provisioned.databaseName, credentials: provisioned.credentials };
}
function bootstrapInput(d: CreateSiteData) {
  if (!d.databaseName || !d.credentials) throw new Error('BootstrapSite needs the provisioned database');
  return {
    siteId: d.siteId,
    name: d.name,
    domain: d.domain,
    tagline: d.tagline,
    adminEmail: d.adminEmail,
    databaseName: d.databaseName,
    credentials: d.credentials,
  };
}

const siteUrl = (d: CreateSiteData): string => `https://${d.domain}`;

/** A site refused at reservation (name or domain taken, invalid) did nothing: the client's request is rejected, not failed. */
const isRejection = (outcome: CompensationOutcome): boolean => outcome.failedStep === 'ReserveSite' && outcome.cause === 'business';

/** The fields the sites service refused, as it named them; a refusal about no field is about the site. */
const rejectionReasons = (outcome: CompensationOutcome): { field: string; message: string }[] =>
  outcome.reasons && outcome.reasons.length > 0 ? [...outcome.reasons] : [{ field: 'site', message: outcome.reason }];
