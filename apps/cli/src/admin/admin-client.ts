import type { AdminToken } from '../cli-config';
import { displayUrl } from '../cli-config';
import { AuthenticationRejected, ConnectionError } from '../cli-errors';
import { type ErrorBody, readJson, refused, unreachable } from '../http/http-failure';
import { auditPage, type AuditPage, bulkDryRun, type BulkDryRun, bulkOperation, type BulkOperation, bulkOperationPage, type BulkOperationPage, sagaDefinitions, type SagaDefinitions, sagaDetail, sagaPage, sagaStats, sagaSummary, type z } from '@sitesaga/http-contracts';
import type { SagaDetail, SagaPage, SagaStats, SagaStatus, SagaSummary } from './admin-views';

export interface ListQuery {
  readonly status?: SagaStatus;
  readonly type?: string;
  readonly siteName?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** The URL answers, but not with the admin stream: retrying will not help. */
export class NotAnEventStream extends ConnectionError {}

const REQUEST_TIMEOUT_MS = 15_000;

/**
 * The admin API of site-saga over HTTP, bearer token on every request. Every failure
 * becomes a CliError with its exit code; 401 reads "ADMIN_TOKEN rejected". The token is
 * sent, never printed.
 */
export class AdminClient {
  private readonly shownUrl: string;

  constructor(
    private readonly baseUrl: string,
    private readonly token: AdminToken | null,
    /** Ctrl-C: aborts whatever is in flight. */
    private readonly interrupt: AbortSignal = new AbortController().signal,
  ) {
    this.shownUrl = displayUrl(baseUrl);
  }

  get url(): string {
    return this.shownUrl;
  }

  list(query: ListQuery): Promise<SagaPage> {
    const parameters = new URLSearchParams();
    if (query.status) parameters.set('status', query.status);
    if (query.type) parameters.set('type', query.type);
    if (query.siteName) parameters.set('siteName', query.siteName);
    if (query.limit) parameters.set('limit', String(query.limit));
    if (query.cursor) parameters.set('cursor', query.cursor);
    const search = parameters.toString();
    return this.request(sagaPage, 'GET', `/admin/sagas${search ? `?${search}` : ''}`, 'list sagas');
  }

  detail(sagaId: string): Promise<SagaDetail> {
    return this.request(sagaDetail, 'GET', `/admin/sagas/${encodeURIComponent(sagaId)}`, `saga ${sagaId}`, `saga ${sagaId} not found`);
  }

  /** The detail, or null while the saga does not exist (yet). */
  async detailIfExists(sagaId: string): Promise<SagaDetail | null> {
    const response = await this.send('GET', `/admin/sagas/${encodeURIComponent(sagaId)}`);
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    return this.answer(sagaDetail, response, 'GET', `saga ${sagaId}`, `saga ${sagaId} not found`);
  }

  retry(sagaId: string): Promise<SagaSummary> {
    return this.request(sagaSummary, 'POST', `/admin/sagas/${encodeURIComponent(sagaId)}/retry`, `retry of saga ${sagaId}`, `saga ${sagaId} not found`);
  }

  abort(sagaId: string, reason?: string): Promise<SagaSummary> {
    return this.request(sagaSummary, 'POST', `/admin/sagas/${encodeURIComponent(sagaId)}/abort`, `abort of saga ${sagaId}`, `saga ${sagaId} not found`, reason ? { reason } : {});
  }

  /** `GET /admin/definitions`: every saga type as the orchestrator runs it (`saga rehearse`). */
  definitions(): Promise<SagaDefinitions> {
    return this.request(sagaDefinitions, 'GET', '/admin/definitions', 'saga definitions', 'this site-saga has no GET /admin/definitions (an older version?)');
  }

  stats(): Promise<SagaStats> {
    return this.request(sagaStats, 'GET', '/admin/stats', 'stats');
  }

  /** `POST /admin/bulk-operations` with `dryRun: true`: how many sagas a filter matches. */
  bulkDryRun(request: { action: string; filter: object; reason?: string }): Promise<BulkDryRun> {
    return this.request(bulkDryRun, 'POST', '/admin/bulk-operations', `bulk ${request.action} dry run`, undefined, { ...request, dryRun: true });
  }

  /** Starts a bulk operation; it runs in the background on the server. */
  bulkStart(request: { action: string; filter: object; ratePerSecond?: number; reason?: string }): Promise<BulkOperation> {
    return this.request(bulkOperation, 'POST', '/admin/bulk-operations', `bulk ${request.action}`, undefined, request);
  }

  bulk(id: string): Promise<BulkOperation> {
    return this.request(bulkOperation, 'GET', `/admin/bulk-operations/${encodeURIComponent(id)}`, `bulk operation ${id}`, `bulk operation ${id} not found`);
  }

  bulks(limit: number): Promise<BulkOperationPage> {
    return this.request(bulkOperationPage, 'GET', `/admin/bulk-operations?limit=${limit}`, 'bulk operations');
  }

  auditLog(query: { operator?: string; action?: string; sagaId?: string; limit?: number; cursor?: string }): Promise<AuditPage> {
    const parameters = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) parameters.set(key, String(value));
    const search = parameters.toString();
    return this.request(auditPage, 'GET', `/admin/audit-log${search ? `?${search}` : ''}`, 'audit log');
  }

  /** Any other admin route, its answer checked against `shape` (commands/inventory.commands.ts). */
  call<T>(shape: z.ZodType<T>, method: string, path: string, what: string, notFound?: string, body?: unknown): Promise<T> {
    return this.request(shape, method, path, what, notFound, body);
  }

  /** Opens `GET /admin/stream`; the caller reads the body. `signal` ends it. */
  async openStream(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send('GET', '/admin/stream', undefined, signal, { accept: 'text/event-stream' });
    if (!response.ok) {
      const body = (await readJson(response)) as ErrorBody | undefined;
      throw this.failure(response.status, body, 'live stream', 'no live stream at this admin URL (GET /admin/stream: 404)');
    }
    if (!response.body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await response.body?.cancel();
      throw new NotAnEventStream(`${this.shownUrl}/admin/stream did not answer with an event stream: is ADMIN_URL the site-saga service?`);
    }
    return response.body;
  }

  private async request<T>(shape: z.ZodType<T>, method: string, path: string, what: string, notFound = `${what}: not found (HTTP 404)`, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return this.answer(shape, response, method, what, notFound);
  }

  /** The answer, checked against the admin API's own shape of it (what is printed is the answer as sent). */
  private async answer<T>(shape: z.ZodType<T>, response: Response, method: string, what: string, notFound: string): Promise<T> {
    const body = await readJson(response).catch((error: unknown) => {
      throw unreachable(error, 'the admin API', this.shownUrl, this.hint, this.interrupt.aborted);
    });
    if (!response.ok) throw this.failure(response.status, body as ErrorBody | undefined, what, notFound);
    if (body === undefined || typeof body !== 'object' || body === null) {
      throw new ConnectionError(`${method} ${this.shownUrl}: the answer is not JSON; is ADMIN_URL the site-saga service?`);
    }
    const checked = shape.safeParse(body);
    if (!checked.success) {
      const [issue] = checked.error.issues;
      throw new ConnectionError(`${method} ${this.shownUrl}: unexpected answer for ${what} (${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'bad shape'}); is ADMIN_URL the site-saga service of this version?`);
    }
    return body as T;
  }

  private readonly hint = 'is site-saga running? set ADMIN_URL or --admin-url';

  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
    const signals = [this.interrupt, signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS)];
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token.value}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      throw unreachable(error, 'the admin API', this.shownUrl, this.hint, this.interrupt.aborted);
    }
  }

  private failure(status: number, body: ErrorBody | undefined, what: string, notFound: string) {
    if (status === 401 || status === 403) {
      if (!this.token) return new AuthenticationRejected(`ADMIN_TOKEN rejected by ${this.shownUrl}: no token given`, ['set ADMIN_TOKEN (or pass --token)']);
      return new AuthenticationRejected(`ADMIN_TOKEN rejected by ${this.shownUrl} (the token from ${this.token.source})`, ['check ADMIN_TOKEN: it must be the one site-saga was started with']);
    }
    return refused(status, body, what, notFound);
  }
}
