import { databaseUrlFor, MESSAGING_MIGRATIONS } from '@sitesaga/messaging';
import { DataSource } from 'typeorm';
import { DatabaseRecordEntity } from './database-record.entity';
import { CreateDatabaseRecords1732400003000 } from './migrations/1732400003000-create-database-records';
import { DatabaseRecordsSagaId1764710000000 } from './migrations/1764710000000-database-records-saga-id';

export const DATABASES_ENTITIES = [DatabaseRecordEntity];
export const DATABASES_MIGRATIONS = [CreateDatabaseRecords1732400003000, DatabaseRecordsSagaId1764710000000];

/** The databases service's own database outside Nest: for `pnpm migrate` and the TypeORM CLI. */
export const databasesDataSource = (env: NodeJS.ProcessEnv = process.env): DataSource =>
  new DataSource({
    type: 'postgres',
    url: databaseUrlFor('databases', env),
    entities: DATABASES_ENTITIES,
    migrations: [...MESSAGING_MIGRATIONS, ...DATABASES_MIGRATIONS],
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
  });
