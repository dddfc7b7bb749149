import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { AdminAuthenticator, AdminAuthGuard, type RequestHeaders } from './admin-auth';
import { AdminErrorsFilter } from './admin-errors.filter';
import { AuditLog } from './bulk';
import { validateAbortBody, validateListQuery, validateSagaId } from './admin-request-validation';
import { SagaOperations } from './saga-operations';
import { type ParkedMessages, type SagaPage, SagaQueries, type SagaStats } from './saga-queries';
import { SagaStream } from './saga-stream';
import type { SagaDetail, SagaSummary } from './saga-views';

/** The admin API (SPEC.md, "Admin endpoint"): bearer token or the page's session cookie on every route. */
@Controller('admin')
@UseGuards(AdminAuthGuard)
@UseFilters(AdminErrorsFilter)
export class AdminController {
  constructor(
    private readonly queries: SagaQueries,
    private readonly operations: SagaOperations,
    private readonly stream: SagaStream,
    private readonly authenticator: AdminAuthenticator,
    private readonly audit: AuditLog,
  ) {}

  @Get('sagas')
  list(@Query() query: Record<string, unknown>): Promise<SagaPage> {
    return this.queries.list(validateListQuery(query));
  }

  @Get('sagas/:id')
  detail(@Param('id') id: string): Promise<SagaDetail> {
    return this.operations.detail(validateSagaId(id));
  }

  @Post('sagas/:id/retry')
  @HttpCode(202)
  retry(@Param('id') id: string, @Req() request: { headers: RequestHeaders }): Promise<SagaSummary> {
    const sagaId = validateSagaId(id);
    const operator = this.authenticator.operatorOfRequest(request.headers) ?? 'admin';
    return this.audit.recorded({ operator, action: 'retry', sagaId }, () => this.operations.retry(sagaId, operator));
  }

  @Post('sagas/:id/abort')
  @HttpCode(202)
  abort(@Param('id') id: string, @Body() body: unknown, @Req() request: { headers: RequestHeaders }): Promise<SagaSummary> {
    const sagaId = validateSagaId(id);
    const { reason } = validateAbortBody(body);
    const operator = this.authenticator.operatorOfRequest(request.headers) ?? 'admin';
    return this.audit.recorded({ operator, action: 'abort', sagaId, reason }, () => this.operations.abort(sagaId, reason, operator));
  }

  @Get('stats')
  stats(): Promise<SagaStats> {
    return this.queries.recentStats();
  }

  /** What the line moved past instead of stopping (a DLQ that refused a dead letter, an outbox row the broker refused). */
  @Get('parked')
  parked(): Promise<ParkedMessages> {
    return this.queries.parked();
  }

  /** Server-Sent Events: `event: saga` with the summary of each changed saga; a comment every 15 s keeps proxies from closing it. */
  @Get('stream')
  events(@Req() request: { headers: RequestHeaders }, @Res() response: ServerResponse): void {
    // A stream opened with the page's cookie ends with its session (sign-out, expiry).
    const session = this.authenticator.authenticate(request.headers) === 'cookie' ? this.authenticator.sessionOfRequest(request.headers) : null;
    this.stream.connect(response, session);
  }
}
