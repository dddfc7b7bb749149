import { databaseUrlFor, MESSAGING_MIGRATIONS } from '@sitesaga/messaging';
import { DataSource } from 'typeorm';
import { CreateSites1732400001000 } from './migrations/1732400001000-create-sites';
import { SiteOwners1764600000000 } from './migrations/1764600000000-site-owners';
import { SiteRequestEntity } from './site-request.entity';
import { SiteEntity } from './site.entity';

/** The sites database outside Nest: for `pnpm migrate` and the TypeORM CLI. */
export const sitesDataSource = (env: NodeJS.ProcessEnv = process.env): DataSource =>
  new DataSource({
    type: 'postgres',
    url: databaseUrlFor('sites', env),
    entities: [SiteEntity, SiteRequestEntity],
    migrations: [...MESSAGING_MIGRATIONS, CreateSites1732400001000, SiteOwners1764600000000],
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
  });
