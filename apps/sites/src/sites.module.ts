import { type DynamicModule, Module } from '@nestjs/common';
import type { ServiceInfrastructure } from '@sitesaga/service';
import { ActivateSiteHandler } from './commands/activate-site.handler';
import { MarkSiteDeletedHandler } from './commands/mark-site-deleted.handler';
import { MarkSiteDeletingHandler } from './commands/mark-site-deleting.handler';
import { ReleaseSiteHandler } from './commands/release-site.handler';
import { ReportSiteInventoryHandler } from './commands/report-site-inventory.handler';
import { ReserveSiteHandler } from './commands/reserve-site.handler';
import { ClientKeys, SitesAuthGuard } from './http/client-auth';
import { clientQuotasFromEnv } from './http/client-quotas';
import { CLIENT_QUOTAS, SiteRequests } from './http/site-requests';
import { SitesController } from './http/sites.controller';

@Module({})
export class SitesModule {
  static register(infrastructure: ServiceInfrastructure): DynamicModule {
    return {
      module: SitesModule,
      imports: infrastructure.imports,
      controllers: [
        SitesController,
        ReserveSiteHandler,
        ActivateSiteHandler,
        ReleaseSiteHandler,
        MarkSiteDeletingHandler,
        MarkSiteDeletedHandler,
        ReportSiteInventoryHandler,
      ],
      providers: [
        SiteRequests,
        SitesAuthGuard,
        { provide: ClientKeys, useFactory: () => ClientKeys.fromEnv() },
        { provide: CLIENT_QUOTAS, useFactory: () => clientQuotasFromEnv() },
      ],
    };
  }
}
