import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { AuditPage, BulkDryRun, BulkItemPage, BulkOperation, BulkOperationPage } from '@sitesaga/http-contracts';
import { AdminAuthenticator, AdminAuthGuard, type RequestHeaders } from '../admin-auth';
import { AdminErrorsFilter } from '../admin-errors.filter';
import { invalidRequest } from '../admin-request-validation';
import { AuditLog } from './audit-log';
import { BulkOperations } from './bulk-operations';
import { validateAuditLogQuery, validateBulkItemsQuery, validateBulkListQuery, validateBulkRequest } from './bulk-request-validation';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const bulkIdOf = (value: string): string => {
  if (!UUID.test(value)) throw invalidRequest('invalid bulk operation id', [{ field: 'id', message: 'must be a uuid' }]);
  return value.toLowerCase();
};

/** Bulk retry/abort and the audit log (README: "Bulk operations and the audit log"). Same guard and errors as the rest of /admin. */
@Controller('admin')
@UseGuards(AdminAuthGuard)
@UseFilters(AdminErrorsFilter)
export class BulkController {
  constructor(
    private readonly bulks: BulkOperations,
    private readonly audit: AuditLog,
    private readonly authenticator: AdminAuthenticator,
  ) {}

  private operatorOf(request: { headers: RequestHeaders }): string {
    return this.authenticator.operatorOfRequest(request.headers) ?? 'admin';
  }

  /** A dry run answers 200 with the count; a start answers 202 with the operation, which runs in the background. */
  @Post('bulk-operations')
  async start(
    @Body() body: unknown,
    @Req() request: { headers: RequestHeaders },
    @Res({ passthrough: true }) response: { status(code: number): void },
  ): Promise<BulkDryRun | BulkOperation> {
    const parsed = validateBulkRequest(body);
    if (parsed.dryRun === true) {
      response.status(200);
      return this.bulks.dryRun(parsed);
    }
    response.status(202);
    return this.bulks.start(parsed, this.operatorOf(request));
  }

  @Get('bulk-operations')
  list(@Query() query: Record<string, unknown>): Promise<BulkOperationPage> {
    return this.bulks.list(validateBulkListQuery(query));
  }

  @Get('bulk-operations/:id')
  get(@Param('id') id: string): Promise<BulkOperation> {
    return this.bulks.get(bulkIdOf(id));
  }

  @Get('bulk-operations/:id/items')
  items(@Param('id') id: string, @Query() query: Record<string, unknown>): Promise<BulkItemPage> {
    return this.bulks.items(bulkIdOf(id), validateBulkItemsQuery(query));
  }

  @Post('bulk-operations/:id/cancel')
  @HttpCode(202)
  cancel(@Param('id') id: string, @Req() request: { headers: RequestHeaders }): Promise<BulkOperation> {
    return this.bulks.cancel(bulkIdOf(id), this.operatorOf(request));
  }

  @Get('audit-log')
  auditLog(@Query() query: Record<string, unknown>): Promise<AuditPage> {
    return this.audit.list(validateAuditLogQuery(query));
  }
}
