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
import { defineSaga, emit, parallel, step } from '../define-saga';

/**
 * A test-only saga shaped like create-site (the real one lives in apps/site-saga), built
 * from the contracts' commands so replies are real participant events.
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
    step('ReserveSite', reserveSite, { compensate: releaseSite }),
    parallel(
      step('ProvisionStorage', provisionStorage, { compensate: deprovisionStorage }),
      step('ProvisionDatabase', provisionDatabase, {
        compensate: dropDatabase,
        timeout: '60s',
        onSucceeded: (data, payload) => ({ ...data, databaseName: payload.databaseName, credentials: payload.credentials }),
      }),
    ),
    step('BootstrapSite', bootstrapSite), // lives in storage and database: undone with them
    step('ActivateSite', activateSite, { onSucceeded: (data, payload) => ({ ...data, url: payload.url }) }),
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

function reserveSite(data: TestSiteData) {
  return { command: ReserveSite, payload: { siteId: data.siteId, name: data.name, domain: data.domain } };
}
function releaseSite(data: TestSiteData) {
  return { command: ReleaseSite, payload: { siteId: data.siteId } };
}
function provisionStorage(data: TestSiteData) {
  return { command: ProvisionStorage, payload: { siteId: data.siteId } };
}
function deprovisionStorage(data: TestSiteData) {
  return { command: DeprovisionStorage, payload: { siteId: data.siteId } };
}
function provisionDatabase(data: TestSiteData) {
  return { command: ProvisionDatabase, payload: { siteId: data.siteId } };
}
function dropDatabase(data: TestSiteData) {
  return { command: DropDatabase, payload: { siteId: data.siteId } };
}
function bootstrapSite(data: TestSiteData) {
  return {
    command: BootstrapSite,
    payload: {
      siteId: data.siteId,
      name: data.name,
      domain: data.domain,
      adminEmail: data.adminEmail,
      databaseName: data.databaseName ?? '',
      credentials: data.credentials ?? '',
    },
  };
}
function activateSite(data: TestSiteData) {
  return { command: ActivateSite, payload: { siteId: data.siteId } };
}

export const SEALED_CREDENTIALS = 'v1.aXY.Y2lwaGVy.dGFn';
