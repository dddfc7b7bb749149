import 'reflect-metadata';
import { SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import { runService } from '@sitesaga/service';
import { CreateStorageRecords1732400002000 } from './persistence/migrations/1732400002000-create-storage-records';
import { StorageRecordEntity } from './persistence/storage-record.entity';
import { StorageModule } from './storage.module';
import { storageConfigFromEnv } from './storage-config';
import { STORAGE_ENV } from './storage-env';

const fail = (error: unknown): never => {
  console.error(JSON.stringify({ level: 'fatal', service: 'storage', msg: 'failed to start', err: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
};

async function main(): Promise<void> {
  await runService({
    name: 'storage',
    catalogue: SITE_CATALOGUE,
    defaultPort: 3002,
    env: STORAGE_ENV,
    topics: [Topics.storageCommands],
    entities: [StorageRecordEntity],
    migrations: [CreateStorageRecords1732400002000],
    module: (infrastructure) => StorageModule.register(infrastructure, storageConfigFromEnv()),
  });
}

main().catch(fail);
