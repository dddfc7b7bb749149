import { type DynamicModule, Module } from '@nestjs/common';
import type { ServiceInfrastructure } from '@sitesaga/service';
import { DeprovisionStorageHandler } from './commands/deprovision-storage.handler';
import { ProvisionStorageHandler } from './commands/provision-storage.handler';
import { ReportStorageInventoryHandler } from './commands/report-storage-inventory.handler';
import { SiteDirectories } from './disk/site-directories';
import { STORAGE_CONFIG, type StorageConfig } from './storage-config';

@Module({})
export class StorageModule {
  static register(infrastructure: ServiceInfrastructure, storage: StorageConfig): DynamicModule {
    return {
      module: StorageModule,
      imports: infrastructure.imports,
      controllers: [ProvisionStorageHandler, DeprovisionStorageHandler, ReportStorageInventoryHandler],
      providers: [{ provide: STORAGE_CONFIG, useValue: storage }, SiteDirectories],
    };
  }
}
