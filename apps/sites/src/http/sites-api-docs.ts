import { SITES_API } from '@sitesaga/http-contracts';
import type { ApiDocsOptions } from '@sitesaga/service';

/** The sites HTTP API's docs: generated from its zod shapes in libs/http-contracts (sites-api.ts). */
export const SITES_API_DOCS: ApiDocsOptions = { api: SITES_API };
