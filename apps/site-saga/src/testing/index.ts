// `@sitesaga/site-saga/testing`: what the end-to-end tests use of the orchestrator (never built into dist).
export * from '../admin/testing/admin-test-app';
export { SEALED_CREDENTIALS } from '../admin/testing/test-site-saga';
export { siteSagaConfigFromEnv } from '../site-saga-config';
export { SITE_SAGA_ENV } from '../site-saga-env';
