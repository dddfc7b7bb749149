import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res, UnsupportedMediaTypeException } from '@nestjs/common';
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
 */
@Controller('sites')
export class SitesController {
  constructor(private readonly requests: SiteRequests) {}

  @Post()
  @HttpCode(202)
  async create(
    @Body() body: unknown,
    @Headers() headers: Record<string, string | undefined>,
    @Res({ passthrough: true }) response: HeaderWriter,
  ): Promise<{ siteId: string; sagaId: string; status: string }> {
    const contentType = headers['content-type'];
    if (contentType !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
      throw new UnsupportedMediaTypeException({ message: 'unsupported content type', errors: [{ field: '(body)', message: 'must be application/json' }] });
    }
    const payload = validateCreateSite(body);
    const idempotencyKey = validateIdempotencyKey(headers['idempotency-key']);
    const requestId = requestIdOf(headers['x-request-id']);
    return answer(response, requestId, await this.requests.create(payload, { idempotencyKey, requestId }));
  }

  @Get()
  list(@Query() query: Record<string, unknown>) {
    return this.requests.list(validateListQuery(query));
  }

  @Get(':id')
  find(@Param('id') id: string) {
    return this.requests.find(validateSiteId(id));
  }

  @Delete(':id')
  @HttpCode(202)
  async delete(
    @Param('id') id: string,
    @Headers('x-request-id') requestIdHeader: string | undefined,
    @Res({ passthrough: true }) response: HeaderWriter,
  ): Promise<{ siteId: string; sagaId: string; status: string }> {
    const siteId = validateSiteId(id);
    const requestId = requestIdOf(requestIdHeader);
    return answer(response, requestId, await this.requests.delete(siteId, requestId));
  }
}
