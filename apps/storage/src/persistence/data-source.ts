import { databaseUrlFor, MESSAGING_MIGRATIONS } from '@sitesaga/messaging';
import { DataSource } from 'typeorm';
import { CreateStorageRecords1732400002000 } from './migrations/1732400002000-create-storage-records';
import { StorageRecordEntity } from './storage-record.entity';

/** The storage database outside Nest: for `pnpm migrate` and the TypeORM CLI. */
export const storageDataSource = (env: NodeJS.ProcessEnv = process.env): DataSource =>
  new DataSource({
    type: 'postgres',
    url: databaseUrlFor('storage', env),
    entities: [StorageRecordEntity],
    migrations: [...MESSAGING_MIGRATIONS, CreateStorageRecords1732400002000],
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
  });
