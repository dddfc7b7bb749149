import 'reflect-metadata';
import { SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import { runService } from '@sitesaga/service';
import { BootstrapModule } from './bootstrap.module';
import { BOOTSTRAP_ENV } from './config/bootstrap-env';
import { BOOTSTRAP_ENTITIES, BOOTSTRAP_MIGRATIONS } from './persistence/data-source';

runService({
  name: 'bootstrap',
  catalogue: SITE_CATALOGUE,
  defaultPort: 3004,
  env: BOOTSTRAP_ENV,
  topics: [Topics.bootstrapCommands],
  entities: BOOTSTRAP_ENTITIES,
  migrations: BOOTSTRAP_MIGRATIONS,
  module: (infrastructure) => BootstrapModule.register(infrastructure),
}).catch((error: unknown) => {
  process.stderr.write(`bootstrap failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
