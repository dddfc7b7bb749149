import 'reflect-metadata';
import { SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import { runService } from '@sitesaga/service';
import { DatabasesModule } from './databases.module';
import { DATABASES_ENV } from './config/databases-env';
import { DATABASES_ENTITIES, DATABASES_MIGRATIONS } from './persistence/data-source';

runService({
  name: 'databases',
  catalogue: SITE_CATALOGUE,
  defaultPort: 3003,
  env: DATABASES_ENV,
  topics: [Topics.databasesCommands],
  entities: DATABASES_ENTITIES,
  migrations: DATABASES_MIGRATIONS,
  module: (infrastructure) => DatabasesModule.register(infrastructure),
}).catch((error: unknown) => {
  process.stderr.write(`databases failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
