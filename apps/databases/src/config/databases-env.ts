import { checkedEnv, SERVICE_ENV, urlEnv, wholeNumberEnv } from '@sitesaga/service';
import { isSecretsKey } from '@sitesaga/secrets';
import { z } from 'zod';

/** Every variable the databases service reads: the chassis' and its own (databasesConfigFromEnv turns them into its config). */
export const DATABASES_ENV = SERVICE_ENV.extend({
  SITE_DATABASE_URL: urlEnv(['postgres:', 'postgresql:']),
  SITE_DATABASE_PROVISIONER_PASSWORD: z.string().optional(),
  SITE_CONNECTION_LIMIT: wholeNumberEnv(1),
  SITE_DDL_POOL_SIZE: wholeNumberEnv(1),
  SITE_DATABASE_POOL_SIZE: wholeNumberEnv(0, 100),
  SITE_DATABASE_POOL_REFILL_CONCURRENCY: wholeNumberEnv(1, 8),
  SECRETS_KEY: checkedEnv(isSecretsKey, 'must be 32 bytes, given as 64 hex digits or base64 (`openssl rand -base64 32`)'),
});
