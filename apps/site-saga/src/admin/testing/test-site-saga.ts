import type { ResolvedRetryPolicy, SagaDefinition } from '@sitesaga/saga';
import { type CreateSiteData, createSiteSaga } from '../../sagas/create-site.saga';

export type TestSiteData = CreateSiteData;

/** Three attempts and no jitter: the admin and metrics tests count steps and attempts. */
const fixed = (policy: ResolvedRetryPolicy): ResolvedRetryPolicy => ({ ...policy, maxAttempts: 3, jitter: 0 });

/**
 * The real create-site saga under a type of its own (TestCreateSite) and a fixed retry
 * policy, for the admin and metrics tests: its figures do not move when the real saga's
 * policy does, and its steps are the real ones (no copy to drift).
 */
export const testSaga: SagaDefinition<CreateSiteData> = {
  ...createSiteSaga,
  type: 'TestCreateSite',
  steps: createSiteSaga.steps.map((step) => ({ ...step, retry: fixed(step.retry), compensationRetry: fixed(step.compensationRetry) })),
};

export const SEALED_CREDENTIALS = 'v1.aXY.Y2lwaGVy.dGFn';
