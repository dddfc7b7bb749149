import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res, UnsupportedMediaTypeException, UseGuards } from '@nestjs/common';
import { type Caller, CallerOf, SitesAuthGuard } from './client-auth';
import { QuotaExceeded } from './client-quotas';
import type { Accepted } from './site-requests';
import { SiteRequests } from './site-requests';
import { requestIdOf, validateCreateSite, validateIdempotencyKey, validateListQuery, validateSiteId } from './request-validation';

interface HeaderWriter {
  setHeader(name: string, value: string): void;
}

const answer = (response: HeaderWriter, requestId: string, accepted: Accepted) => {
  response.setHeader('X-Request-Id', requestId);
  if (accepted.replayed) response.setHeader('Idempotent-Replayed', 'true');
  return { siteId: accepted.siteId, sagaId: accepted.sagaId, status: accepted.status };
};

/**
 * The client API: a site request is answered at once (202, status PENDING) while the
 * saga does the work; every input is validated before anything is written or sent.
 * Every route needs a client key (a client sees and deletes its own sites) or an
 * operator token (every site); see client-auth.ts.
 */
@Controller('sites')
@UseGuards(SitesAuthGuard)
export class SitesController {
  constructor(private readonly requests: SiteRequests) {}

  @Post()
  @HttpCode(202)
  async create(
    @Body() body: unknown,
    @Headers() headers: Record<string, string | undefined>,
    @Res({ passthrough: true }) response: HeaderWriter,
    @CallerOf() caller: Caller,
  ): Promise<{ siteId: string; sagaId: string; status: string }> {
    const contentType = headers['content-type'];
    if (contentType !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
      throw new UnsupportedMediaTypeException({ message: 'unsupported content type', errors: [{ field: '(body)', message: 'must be application/json' }] });
    }
    const payload = validateCreateSite(body);
    const idempotencyKey = validateIdempotencyKey(headers['idempotency-key']);
    const requestId = requestIdOf(headers['x-request-id']);
    try {
      return answer(response, requestId, await this.requests.create(payload, { idempotencyKey, requestId, caller }));
    } catch (error) {
      if (error instanceof QuotaExceeded) response.setHeader('Retry-After', String(error.retryAfterSeconds));
      throw error;
    }
  }

  @Get()
  list(@Query() query: Record<string, unknown>, @CallerOf() caller: Caller) {
    return this.requests.list(validateListQuery(query), caller);
  }

  @Get(':id')
  find(@Param('id') id: string, @CallerOf() caller: Caller) {
    return this.requests.find(validateSiteId(id), caller);
  }

  @Delete(':id')
  @HttpCode(202)
  async delete(
    @Param('id') id: string,
    @Headers('x-request-id') requestIdHeader: string | undefined,
    @Res({ passthrough: true }) response: HeaderWriter,
    @CallerOf() caller: Caller,
  ): Promise<{ siteId: string; sagaId: string; status: string }> {
    const siteId = validateSiteId(id);
    const requestId = requestIdOf(requestIdHeader);
    return answer(response, requestId, await this.requests.delete(siteId, requestId, caller));
  }
}
