import { SERVICE_ENV, wholeNumberEnv } from '@sitesaga/service';
import { z } from 'zod';

/** Every variable the sites service reads: the chassis' and its clients' keys and quotas. */
export const SITES_ENV = SERVICE_ENV.extend({
  // `client:key,client:key2,…` (several keys per client, to rotate them); parsed and checked where it is read.
  SITES_CLIENT_KEYS: z.string().optional(),
  SITES_QUOTA_SITES: wholeNumberEnv(0),
  SITES_QUOTA_CREATES_PER_MINUTE: wholeNumberEnv(0),
});
