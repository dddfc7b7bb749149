import { BadRequestException } from '@nestjs/common';
import { boundReasons, checkPayload, type CreateSitePayload, createSitePayload, type FieldReason } from '@sitesaga/contracts';
import { SITES_LIST_LIMIT } from '@sitesaga/http-contracts';
import { randomUUID } from 'node:crypto';
import { isSiteStatus, SITE_STATUSES, type SiteStatus } from '../domain/site-status';

/**
 * Pure checks of everything a client sends (body, path, query, headers). Every refusal is
 * a 400 `{ message, errors: [{ field, message }] }`: nothing reaches the database or
 * Kafka unchecked, and no bad input turns into a 500.
 */
export const invalidRequest = (message: string, errors: readonly FieldReason[]): BadRequestException =>
  // Bounded like every reason list: 1,000 unknown query parameters are 20 reasons and a count.
  new BadRequestException({ message, errors: boundReasons(errors) });

export function validateCreateSite(body: unknown): CreateSitePayload {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('invalid request body', [{ field: '(body)', message: 'must be a JSON object' }]);
  }
  // The same check as a CreateSite on Kafka: shape bounds, storable text in every field and
  // key, then the schema; at most a bounded list of reasons.
  const checked = checkPayload(createSitePayload, body, '');
  if (!checked.success) throw invalidRequest('invalid request body', checked.reasons);
  return checked.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validateSiteId(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalidRequest('invalid site id', [{ field: 'id', message: 'must be a uuid' }]);
  return value.toLowerCase();
}

export const LIST_LIMIT = SITES_LIST_LIMIT;

export function validateListQuery(query: Record<string, unknown>): { status?: SiteStatus; limit: number } {
  const errors: FieldReason[] = [];
  for (const key of Object.keys(query)) {
    if (key !== 'status' && key !== 'limit') errors.push({ field: key, message: 'unknown query parameter' });
  }
  const { status, limit } = query;
  if (status !== undefined && !isSiteStatus(status)) errors.push({ field: 'status', message: `must be one of ${SITE_STATUSES.join(', ')}` });
  let parsedLimit: number = LIST_LIMIT.default;
  if (limit !== undefined) {
    parsedLimit = typeof limit === 'string' && /^[0-9]{1,4}$/.test(limit) ? Number(limit) : NaN;
    if (!(parsedLimit >= 1 && parsedLimit <= LIST_LIMIT.max)) errors.push({ field: 'limit', message: `must be an integer from 1 to ${LIST_LIMIT.max}` });
  }
  if (errors.length > 0) throw invalidRequest('invalid query', errors);
  return { ...(isSiteStatus(status) ? { status } : {}), limit: parsedLimit };
}

/** `Idempotency-Key`: optional, 1 to 200 visible ASCII characters. */
export function validateIdempotencyKey(value: unknown): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(value)) {
    throw invalidRequest('invalid Idempotency-Key header', [{ field: 'Idempotency-Key', message: 'must be 1 to 200 visible ASCII characters' }]);
  }
  return value;
}

/** The request id becomes the saga's correlation id: the client's `X-Request-Id` when sane, else a new one. */
export const requestIdOf = (value: unknown): string => (typeof value === 'string' && /^[A-Za-z0-9._:-]{8,100}$/.test(value) ? value : randomUUID());
