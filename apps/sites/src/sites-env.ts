import { SERVICE_ENV } from '@sitesaga/messaging';

/** Every variable the sites service reads: the chassis' only. */
export const SITES_ENV = SERVICE_ENV;
