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
  SiteCreationStarted,
} from '@sitesaga/contracts';
import { defineSaga, emit, parallel, send, step } from '@sitesaga/saga';

/**
 * A test-only saga shaped like create-site, for the admin and metrics tests: a type of its
 * own (TestCreateSite) and 3 attempts with no jitter, so their figures do not move when
 * the real saga's policy does. Built from the catalogue's commands so replies are real
 * participant events.
 */
export interface TestSiteData {
  readonly siteId: string;
  readonly name: string;
  readonly domain: string;
  readonly adminEmail: string;
  readonly databaseName?: string;
  readonly credentials?: string;
  readonly url?: string;
}

export const testSaga = defineSaga<TestSiteData>({
  type: 'TestCreateSite',
  defaults: { timeout: '30s', retry: { maxAttempts: 3, backoff: '1s', factor: 2, jitter: 0, maxBackoff: '30s' } },
  stages: [
    step('ReserveSite', send(ReserveSite, reservation), { undo: send(ReleaseSite, bySite) }),
    parallel(
      step('ProvisionStorage', send(ProvisionStorage, bySite), { undo: send(DeprovisionStorage, bySite) }),
      step('ProvisionDatabase', send(ProvisionDatabase, bySite), {
        undo: send(DropDatabase, bySite),
        timeout: '60s',
        onSucceeded: (data, payload) => ({ ...data, databaseName: payload.databaseName, credentials: payload.credentials }),
      }),
    ),
    step('BootstrapSite', send(BootstrapSite, bootstrapInput)), // lives in storage and database: undone with them
    step('ActivateSite', send(ActivateSite, bySite), { onSucceeded: (data, payload) => ({ ...data, url: payload.url }) }),
  ],
  onStarted: (data) => [emit(SiteCreationStarted, { siteId: data.siteId, name: data.name, domain: data.domain })],
  onCompleted: (data) => [emit(SiteCreated, { siteId: data.siteId, name: data.name, domain: data.domain, url: data.url ?? `https://${data.domain}` })],
  onCompensated: (data, outcome) => [emit(SiteCreationFailed, { siteId: data.siteId, failedStep: outcome.failedStep, reason: outcome.reason })],
  onNeedsAttention: (data, attention, context) => [
    emit(SagaNeedsAttention, { siteId: data.siteId, sagaType: context.sagaType, step: attention.step, reason: attention.reason }),
  ],
  redact: ['credentials'],
  searchKey: (data) => data.name,
});

function bySite(data: TestSiteData) {
  return { siteId: data.siteId };
}
function reservation(data: TestSiteData) {
  return { siteId: data.siteId, name: data.name, domain: data.domain };
}
function bootstrapInput(data: TestSiteData) {
  return {
    siteId: data.siteId,
    name: data.name,
    domain: data.domain,
    adminEmail: data.adminEmail,
    databaseName: data.databaseName ?? '',
    credentials: data.credentials ?? '',
  };
}

export const SEALED_CREDENTIALS = 'v1.aXY.Y2lwaGVy.dGFn';
