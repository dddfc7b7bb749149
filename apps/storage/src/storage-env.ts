import { SERVICE_ENV } from '@sitesaga/service';
import { z } from 'zod';

/** Every variable the storage service reads: the chassis' and STORAGE_ROOT (storageConfigFromEnv then resolves and creates it). */
export const STORAGE_ENV = SERVICE_ENV.extend({
  STORAGE_ROOT: z
    .string({ required_error: 'is required: the directory under which site directories are created' })
    .trim()
    .min(1, 'is required: the directory under which site directories are created')
    .refine((text) => !text.includes('\0'), 'must not contain NUL bytes'),
});
