import { type DynamicModule, Module } from '@nestjs/common';
import type { ServiceInfrastructure } from '@sitesaga/service';
import { BootstrapSiteHandler } from './commands/bootstrap-site.handler';
import { ReportBootstrapInventoryHandler } from './commands/report-bootstrap-inventory.handler';
import { BOOTSTRAP_CONFIG, bootstrapConfigFromEnv } from './config/bootstrap-config';
import { SiteSchemaInstaller } from './site-database/site-schema-installer';
import { SiteConfigFiles } from './storage/site-config-files';

@Module({})
export class BootstrapModule {
  static register(infrastructure: ServiceInfrastructure, env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const config = bootstrapConfigFromEnv(env, (message) => infrastructure.logger.warn(message));
    return {
      module: BootstrapModule,
      imports: infrastructure.imports,
      controllers: [BootstrapSiteHandler, ReportBootstrapInventoryHandler],
      providers: [{ provide: BOOTSTRAP_CONFIG, useValue: config }, SiteSchemaInstaller, SiteConfigFiles],
    };
  }
}
