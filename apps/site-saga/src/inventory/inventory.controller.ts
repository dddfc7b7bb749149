import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { type OrphanReport, repairRequest, type RepairResult, type SiteLookup } from '@sitesaga/http-contracts';
import type { ServerResponse } from 'node:http';
import { AdminAuthenticator, AdminAuthGuard, type RequestHeaders } from '../admin/admin-auth';
import { AdminErrorsFilter } from '../admin/admin-errors.filter';
import { InventoryUnavailable } from './inventory-requests';
import { OrphanAuditor } from './orphan-auditor';
import { OrphanMetrics } from './orphan-metrics';
import { OrphanRepair } from './orphan-repair';
import { SiteInventory } from './site-inventory';

/** A participant that did not answer is named: the operator knows where to look. */
async function orUnavailable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof InventoryUnavailable) throw new ServiceUnavailableException({ message: error.message, errors: [], service: error.owner });
    throw error;
  }
}

/** The orphan audit, its repair and the site view (admin auth, as every /admin route). */
@Controller('admin')
@UseGuards(AdminAuthGuard)
@UseFilters(AdminErrorsFilter)
export class InventoryController {
  constructor(
    private readonly auditor: OrphanAuditor,
    private readonly repairs: OrphanRepair,
    private readonly sites: SiteInventory,
    private readonly metrics: OrphanMetrics,
    private readonly authenticator: AdminAuthenticator,
  ) {}

  @Get('orphans')
  async orphans(): Promise<OrphanReport> {
    const started = Date.now();
    const report = await orUnavailable(this.auditor.audit());
    this.metrics.observe(report, (Date.now() - started) / 1000);
    return report;
  }

  /** 200 for a dry run (nothing sent), 202 when commands were sent. */
  @Post('orphans/repair')
  @HttpCode(200)
  async repair(
    @Body() body: unknown,
    @Req() request: { headers: RequestHeaders },
    @Res({ passthrough: true }) response: ServerResponse,
  ): Promise<RepairResult> {
    const checked = repairRequest.safeParse(body ?? {});
    if (!checked.success) {
      const errors = checked.error.issues.slice(0, 20).map((issue) => ({ field: issue.path.join('.') || 'body', message: issue.message }));
      throw new BadRequestException({ message: `invalid repair request: ${errors.map((error) => `${error.field}: ${error.message}`).join('; ')}`, errors });
    }
    const result = await orUnavailable(this.repairs.repair(checked.data, this.authenticator.operatorOfRequest(request.headers) ?? 'admin'));
    if (!result.dryRun) response.statusCode = 202;
    return result;
  }

  @Get('orphans/repairs')
  repairLog(): Promise<{ items: Omit<RepairResult, 'repaired'>[] }> {
    return this.repairs.log();
  }

  @Get('sites/:key')
  site(@Param('key') key: string): Promise<SiteLookup> {
    if (key.length > 300) throw new BadRequestException({ message: 'a site key is at most 253 characters', errors: [{ field: 'key', message: 'too long' }] });
    return orUnavailable(this.sites.lookup(key));
  }
}
