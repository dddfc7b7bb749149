// `@sitesaga/bootstrap/testing`: what the end-to-end tests use of the bootstrap service (never built into dist).
export { BOOTSTRAP_ENV } from '../config/bootstrap-env';
