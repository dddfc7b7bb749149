import { secretsKeyFromEnv, type SecretsKey } from '@sitesaga/secrets';

/** The databases service's own settings, parsed once at boot (fail fast). */
export interface DatabasesConfig {
  /** The server hosting site databases, as a connection URL (its database is where DDL runs from). */
  readonly siteDatabaseUrl: string;
  readonly secretsKey: SecretsKey;
  /** Password of `sitesaga_provisioner`, when the server demands one for it to log in. */
  readonly provisionerPassword: string | undefined;
  /** CONNECTION LIMIT of every site role. */
  readonly siteConnectionLimit: number;
  /** Size of the pool of DDL sessions on the site server. */
  readonly ddlPoolSize: number;
  /** Spare site databases kept ready to be claimed (0: no warm pool). */
  readonly sparePoolSize: number;
  /** Spares built at once, in the background. */
  readonly spareRefillConcurrency: number;
  /** DATABASE_NAME_PREFIX: the spares' and template's names start with it. */
  readonly namePrefix: string;
}

export const DATABASES_CONFIG = Symbol('DATABASES_CONFIG');

/** SITE_DATABASE_URL, or DATABASE_URL's server (its `postgres` database). */
export function siteDatabaseUrlFromEnv(env: NodeJS.ProcessEnv): string {
  if (env.SITE_DATABASE_URL) return new URL(env.SITE_DATABASE_URL).toString();
  const url = new URL(env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  url.search = '';
  return url.toString();
}

const positiveInt = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
};

const nonNegativeInt = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return parsed;
};

/** Bounds of the warm pool: each spare is a database (about 8 MB) and a role on the site server. */
const MAX_SPARES = 100;
const MAX_REFILL_CONCURRENCY = 8;

export function databasesConfigFromEnv(env: NodeJS.ProcessEnv, warn: (message: string) => void): DatabasesConfig {
  return {
    siteDatabaseUrl: siteDatabaseUrlFromEnv(env),
    secretsKey: secretsKeyFromEnv(env, warn),
    provisionerPassword: env.SITE_DATABASE_PROVISIONER_PASSWORD || undefined,
    siteConnectionLimit: positiveInt('SITE_CONNECTION_LIMIT', env.SITE_CONNECTION_LIMIT, 20),
    ddlPoolSize: positiveInt('SITE_DDL_POOL_SIZE', env.SITE_DDL_POOL_SIZE, 2),
    sparePoolSize: Math.min(MAX_SPARES, nonNegativeInt('SITE_DATABASE_POOL_SIZE', env.SITE_DATABASE_POOL_SIZE, 4)),
    spareRefillConcurrency: Math.min(MAX_REFILL_CONCURRENCY, positiveInt('SITE_DATABASE_POOL_REFILL_CONCURRENCY', env.SITE_DATABASE_POOL_REFILL_CONCURRENCY, 1)),
    namePrefix: env.DATABASE_NAME_PREFIX ?? 'sitesaga_',
  };
}
