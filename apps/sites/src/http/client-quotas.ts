import { HttpException, HttpStatus } from '@nestjs/common';
import type { QuotaExceededBody } from '@sitesaga/http-contracts';

/** What one client may hold and ask for (operators are not limited). */
export interface ClientQuotas {
  /** Sites a client may hold at once (asked for, not failed or deleted): SITES_QUOTA_SITES. */
  readonly maxSites: number;
  /** Site creations a client may ask for per rolling minute: SITES_QUOTA_CREATES_PER_MINUTE. */
  readonly createsPerMinute: number;
}

const positive = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 1_000_000) throw new Error(`${name} must be an integer from 1 to 1000000, got "${value}"`);
  return parsed;
};

export function clientQuotasFromEnv(env: NodeJS.ProcessEnv = process.env): ClientQuotas {
  return {
    maxSites: positive('SITES_QUOTA_SITES', env.SITES_QUOTA_SITES, 100),
    createsPerMinute: positive('SITES_QUOTA_CREATES_PER_MINUTE', env.SITES_QUOTA_CREATES_PER_MINUTE, 10),
  };
}

/** 429 with the field that ran out (libs/http-contracts' QuotaExceeded); the caller sets Retry-After. */
export class QuotaExceeded extends HttpException {
  constructor(
    readonly quota: QuotaExceededBody['quota'],
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      {
        message: quota === 'sites' ? `quota reached: at most ${limit} sites per client` : `quota reached: at most ${limit} site creations per minute`,
        errors: [{ field: '(client)', message: quota === 'sites' ? `holds ${limit} sites already` : `asked for ${limit} sites in the last minute` }],
        quota,
        limit,
      } satisfies QuotaExceededBody,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
