import * as path from 'node:path';
import { checkedEnv, SERVICE_ENV, urlEnv, wholeNumberEnv } from '@sitesaga/service';
import { isSecretsKey } from '@sitesaga/secrets';
import { z } from 'zod';

/** Every variable the bootstrap service reads: the chassis' and its own (bootstrapConfigFromEnv turns them into its config). */
export const BOOTSTRAP_ENV = SERVICE_ENV.extend({
  STORAGE_ROOT: z
    .string({ required_error: "is required: the directory that holds the sites' directories" })
    .refine((text) => path.isAbsolute(text) || text.startsWith('.'), 'must be a path'),
  SITE_DATABASE_URL: urlEnv(['postgres:', 'postgresql:']),
  BOOTSTRAP_BCRYPT_ROUNDS: wholeNumberEnv(4, 15),
  BOOTSTRAP_HASH_POOL_SIZE: wholeNumberEnv(0, 64),
  // libuv's thread pool: bcrypt hashes, fs and dns share it (at most min(cores, this − 1) hashes at once).
  UV_THREADPOOL_SIZE: wholeNumberEnv(2, 1024),

  SECRETS_KEY: checkedEnv(isSecretsKey, 'must be 32 bytes, given as 64 hex digits or base64 (`openssl rand -base64 32`)'),
});
