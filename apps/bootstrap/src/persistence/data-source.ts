import { databaseUrlFor, MESSAGING_MIGRATIONS } from '@sitesaga/messaging';
import { DataSource } from 'typeorm';
import { BootstrapRecordEntity } from './bootstrap-record.entity';
import { BootstrapRecordsSagaId1764710000100 } from './migrations/1764710000100-bootstrap-records-saga-id';
import { CreateBootstrapRecords1732400004000 } from './migrations/1732400004000-create-bootstrap-records';

export const BOOTSTRAP_ENTITIES = [BootstrapRecordEntity];
export const BOOTSTRAP_MIGRATIONS = [CreateBootstrapRecords1732400004000, BootstrapRecordsSagaId1764710000100];

/** The bootstrap service's own database outside Nest: for `pnpm migrate` and the TypeORM CLI. */
export const bootstrapDataSource = (env: NodeJS.ProcessEnv = process.env): DataSource =>
  new DataSource({
    type: 'postgres',
    url: databaseUrlFor('bootstrap', env),
    entities: BOOTSTRAP_ENTITIES,
    migrations: [...MESSAGING_MIGRATIONS, ...BOOTSTRAP_MIGRATIONS],
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
  });
