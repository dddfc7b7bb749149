import { type DynamicModule, Module } from '@nestjs/common';
import type { ServiceInfrastructure } from '@sitesaga/service';
import { Registry } from 'prom-client';
import { DropDatabaseHandler } from './commands/drop-database.handler';
import { ProvisionDatabaseHandler } from './commands/provision-database.handler';
import { ReportDatabaseInventoryHandler } from './commands/report-database-inventory.handler';
import { DATABASES_CONFIG, databasesConfigFromEnv } from './config/databases-config';
import { SiteCredentials } from './credentials/site-credentials';
import { SiteDatabaseServer } from './site-server/site-database-server';

@Module({})
export class DatabasesModule {
  static register(infrastructure: ServiceInfrastructure, env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const config = databasesConfigFromEnv(env, (message) => infrastructure.logger.warn(message));
    return {
      module: DatabasesModule,
      imports: infrastructure.imports,
      controllers: [ProvisionDatabaseHandler, DropDatabaseHandler, ReportDatabaseInventoryHandler],
      providers: [
        { provide: DATABASES_CONFIG, useValue: config },
        { provide: SiteCredentials, useValue: new SiteCredentials(config.secretsKey) },
        {
          provide: SiteDatabaseServer,
          useFactory: (registry: Registry) =>
            SiteDatabaseServer.connect({
              siteDatabaseUrl: config.siteDatabaseUrl,
              provisionerPassword: config.provisionerPassword,
              siteConnectionLimit: config.siteConnectionLimit,
              poolSize: config.ddlPoolSize,
              logger: infrastructure.logger.child({ component: 'site-database-server' }),
              spares: { size: config.sparePoolSize, refillConcurrency: config.spareRefillConcurrency, namePrefix: config.namePrefix },
              registry,
            }),
          inject: [Registry],
        },
      ],
    };
  }
}
