// `@sitesaga/sites/testing`: what the end-to-end tests use of the sites service (never built into dist).
export { SITES_ENV } from '../sites-env';
