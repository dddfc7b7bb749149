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
import { type CompensationOutcome, defineSaga, emit, parallel, step } from '@sitesaga/saga';

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
    step('ReserveSite', reserveSite, { compensate: releaseSite }),
    parallel(
      step('ProvisionStorage', provisionStorage, { compensate: deprovisionStorage }),
      step('ProvisionDatabase', provisionDatabase, { compensate: dropDatabase, timeout: '60s', onSucceeded: rememberDatabase }),
    ),
    step('BootstrapSite', bootstrapSite), // lives in storage and database: undone with them
    step('ActivateSite', activateSite),
  ],
  onStarted: (d) => [emit(SiteCreationStarted, { siteId: d.siteId, name: d.name, domain: d.domain })],
  onCompleted: (d) => [emit(SiteCreated, { siteId: d.siteId, name: d.name, domain: d.domain, url: siteUrl(d) })],
  onCompensated: (d, outcome) =>
    isRejection(outcome)
      ? [emit(SiteCreationRejected, { reasons: reasonsOf(outcome.reason) })]
      : [emit(SiteCreationFailed, { siteId: d.siteId, failedStep: outcome.failedStep, reason: outcome.reason })],
  onNeedsAttention: (d, attention, context) => [
    emit(SagaNeedsAttention, { siteId: d.siteId, sagaType: context.sagaType, step: attention.step, reason: attention.reason }),
  ],
  redact: ['credentials'],
  searchKey: (d) => d.name,
});

function reserveSite(d: CreateSiteData) {
  return { command: ReserveSite, payload: { siteId: d.siteId, name: d.name, domain: d.domain, tagline: d.tagline, adminEmail: d.adminEmail } };
}
function releaseSite(d: CreateSiteData) {
  return { command: ReleaseSite, payload: { siteId: d.siteId } };
}
function provisionStorage(d: CreateSiteData) {
  return { command: ProvisionStorage, payload: { siteId: d.siteId } };
}
function deprovisionStorage(d: CreateSiteData) {
  return { command: DeprovisionStorage, payload: { siteId: d.siteId } };
}
function provisionDatabase(d: CreateSiteData) {
  return { command: ProvisionDatabase, payload: { siteId: d.siteId } };
}
function dropDatabase(d: CreateSiteData) {
  return { command: DropDatabase, payload: { siteId: d.siteId } };
}
function rememberDatabase(d: CreateSiteData, provisioned: { databaseName: string; credentials: string }): CreateSiteData {
  return { ...d, databaseName: provisioned.databaseName, credentials: provisioned.credentials };
}
function bootstrapSite(d: CreateSiteData) {
  if (!d.databaseName || !d.credentials) throw new Error('BootstrapSite needs the provisioned database');
  return {
    command: BootstrapSite,
    payload: {
      siteId: d.siteId,
      name: d.name,
      domain: d.domain,
      tagline: d.tagline,
      adminEmail: d.adminEmail,
      databaseName: d.databaseName,
      credentials: d.credentials,
    },
  };
}
function activateSite(d: CreateSiteData) {
  return { command: ActivateSite, payload: { siteId: d.siteId } };
}

const siteUrl = (d: CreateSiteData): string => `https://${d.domain}`;

/** A site refused at reservation (name or domain taken, invalid) did nothing: the client's request is rejected, not failed. */
const isRejection = (outcome: CompensationOutcome): boolean => outcome.failedStep === 'ReserveSite' && outcome.cause === 'business';

/** The sites service words its refusals "<field> <message>", several joined by "; " (e.g. "name taken; domain taken"). */
function reasonsOf(reason: string): { field: string; message: string }[] {
  return reason.split(/;\s*/).map((part) => {
    const match = /^(name|domain|adminEmail|tagline)\s+(.+)$/.exec(part.trim());
    return match ? { field: match[1]!, message: match[2]! } : { field: 'site', message: part };
  });
}
