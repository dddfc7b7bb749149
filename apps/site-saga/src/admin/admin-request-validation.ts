import { BadRequestException } from '@nestjs/common';
import { abortRequest, ADMIN_LIST_LIMIT, fieldErrorsOf } from '@sitesaga/http-contracts';
import { decodeSagaCursor, encodeSagaCursor, SAGA_STATUSES, type SagaCursor, type SagaStatus } from '@sitesaga/saga';

/**
 * Pure checks of what an operator sends. Every refusal is a 400
 * `{ message, errors: [{ field, message }] }`; nothing unchecked reaches SQL.
 */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export const invalidRequest = (message: string, errors: readonly FieldError[]): BadRequestException => new BadRequestException({ message, errors });

export const LIST_LIMIT = ADMIN_LIST_LIMIT;

/** Where the next page starts (libs/saga's list cursor). */
export type ListCursor = SagaCursor;

export interface ListQuery {
  readonly status?: SagaStatus;
  readonly type?: string;
  readonly siteName?: string;
  readonly limit: number;
  readonly cursor?: ListCursor;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SAGA_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]{1,253}$/;
const LIST_PARAMETERS = new Set(['status', 'type', 'siteName', 'limit', 'cursor']);

const isSagaStatus = (value: unknown): value is SagaStatus => typeof value === 'string' && (SAGA_STATUSES as readonly string[]).includes(value);

export const encodeCursor = encodeSagaCursor;
export const decodeCursor = decodeSagaCursor;

export function validateListQuery(query: Record<string, unknown>): ListQuery {
  const errors: FieldError[] = [];
  const given: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!LIST_PARAMETERS.has(key)) errors.push({ field: key, message: 'unknown query parameter' });
    else if (typeof value !== 'string') errors.push({ field: key, message: 'must be given once, as a plain value' });
    else if (value !== '') given[key] = value; // an empty form field means "any"
  }
  const { status, type, siteName, limit, cursor } = given;
  if (status !== undefined && !isSagaStatus(status)) errors.push({ field: 'status', message: `must be one of ${SAGA_STATUSES.join(', ')}` });
  if (type !== undefined && !SAGA_TYPE.test(type)) errors.push({ field: 'type', message: 'must be a saga type name (letters, digits, ._-; at most 100)' });
  if (siteName !== undefined && !PRINTABLE.test(siteName)) errors.push({ field: 'siteName', message: 'must be 1 to 253 printable characters' });
  let parsedLimit: number = LIST_LIMIT.default;
  if (limit !== undefined) {
    parsedLimit = /^[0-9]{1,4}$/.test(limit) ? Number(limit) : NaN;
    if (!(parsedLimit >= 1 && parsedLimit <= LIST_LIMIT.max)) errors.push({ field: 'limit', message: `must be an integer from 1 to ${LIST_LIMIT.max}` });
  }
  const parsedCursor = cursor === undefined ? undefined : decodeCursor(cursor);
  if (parsedCursor === null) errors.push({ field: 'cursor', message: 'is not a cursor this endpoint handed out' });
  if (errors.length > 0) throw invalidRequest('invalid query', errors);
  return {
    ...(isSagaStatus(status) ? { status } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(siteName !== undefined ? { siteName } : {}),
    limit: parsedLimit,
    ...(parsedCursor ? { cursor: parsedCursor } : {}),
  };
}

export function validateSagaId(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalidRequest('invalid saga id', [{ field: 'id', message: 'must be a uuid' }]);
  return value.toLowerCase();
}

export const DEFAULT_ABORT_REASON = 'by an operator';

/** `POST /admin/sagas/:id/abort` takes an optional `{ reason }`, parsed by the admin API's own schema. */
export function validateAbortBody(body: unknown): { reason: string } {
  if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) {
    return { reason: DEFAULT_ABORT_REASON };
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidRequest('invalid request body', [{ field: '(body)', message: 'must be a JSON object' }]);
  const parsed = abortRequest.safeParse(body);
  if (!parsed.success) throw invalidRequest('invalid request body', fieldErrorsOf(parsed.error));
  return { reason: parsed.data.reason ?? DEFAULT_ABORT_REASON };
}
