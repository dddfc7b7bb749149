// `@sitesaga/databases/testing`: what the end-to-end tests use to check the databases service's effects (never built into dist).
export { SiteCredentials } from '../credentials/site-credentials';
export { verifierMatches } from '../domain/scram-verifier';
export { generateDatabasePassword } from '../domain/database-password';
export { SiteDatabaseServer } from '../site-server/site-database-server';
export { DATABASES_ENV } from '../config/databases-env';
