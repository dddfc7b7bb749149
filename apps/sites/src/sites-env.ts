import { SERVICE_ENV } from '@sitesaga/service';

/** Every variable the sites service reads: the chassis' only. */
export const SITES_ENV = SERVICE_ENV;
