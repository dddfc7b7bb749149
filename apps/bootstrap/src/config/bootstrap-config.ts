import * as path from 'node:path';
import { secretsKeyFromEnv, type SecretsKey } from '@sitesaga/secrets';

/** The bootstrap service's own settings, parsed once at boot (fail fast). */
export interface BootstrapConfig {
  /**
   * The server of site databases (SITE_DATABASE_URL, else DATABASE_URL's server). Only its
   * host, port and parameters (sslmode…) are used: each site's session logs in as the
   * site's own role, never with the user of this URL.
   */
  readonly siteDatabaseUrl: string;
  readonly storageRoot: string;
  readonly secretsKey: SecretsKey;
  /** bcrypt cost of the admin password hash. */
  readonly bcryptRounds: number;
  /** Admin password hashes kept made ahead (BOOTSTRAP_HASH_POOL_SIZE; 0: each made when needed). */
  readonly adminHashPoolSize: number;
}

export const BOOTSTRAP_CONFIG = Symbol('BOOTSTRAP_CONFIG');

export function bootstrapConfigFromEnv(env: NodeJS.ProcessEnv, warn: (message: string) => void): BootstrapConfig {
  const url = new URL(env.SITE_DATABASE_URL ?? env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const storageRoot = env.STORAGE_ROOT;
  if (!storageRoot) throw new Error('STORAGE_ROOT must name the directory that holds the sites\' directories');
  if (!path.isAbsolute(storageRoot) && !storageRoot.startsWith('.')) throw new Error(`STORAGE_ROOT must be a path, got "${storageRoot}"`);
  const rounds = env.BOOTSTRAP_BCRYPT_ROUNDS ? Number(env.BOOTSTRAP_BCRYPT_ROUNDS) : 10;
  if (!Number.isInteger(rounds) || rounds < 4 || rounds > 15) throw new Error('BOOTSTRAP_BCRYPT_ROUNDS must be an integer from 4 to 15');
  const pool = env.BOOTSTRAP_HASH_POOL_SIZE ? Number(env.BOOTSTRAP_HASH_POOL_SIZE) : 4;
  if (!Number.isInteger(pool) || pool < 0 || pool > 64) throw new Error('BOOTSTRAP_HASH_POOL_SIZE must be an integer from 0 to 64');
  return {
    siteDatabaseUrl: url.toString(),
    storageRoot: path.resolve(storageRoot),
    secretsKey: secretsKeyFromEnv(env, warn),
    bcryptRounds: rounds,
    adminHashPoolSize: pool,
  };
}
