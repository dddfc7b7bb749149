import 'reflect-metadata';
import { Topics } from '@sitesaga/contracts';
import { runService } from '@sitesaga/messaging';
import { configureHttp } from './http/http-configuration';
import { CreateSites1732400001000 } from './persistence/migrations/1732400001000-create-sites';
import { SiteRequestEntity } from './persistence/site-request.entity';
import { SiteEntity } from './persistence/site.entity';
import { SitesModule } from './sites.module';

runService({
  name: 'sites',
  defaultPort: 3001,
  topics: [Topics.sitesCommands],
  entities: [SiteEntity, SiteRequestEntity],
  migrations: [CreateSites1732400001000],
  module: (infrastructure) => SitesModule.register(infrastructure),
  configure: (app, infrastructure) => configureHttp(app, infrastructure.logger),
}).catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'fatal', service: 'sites', msg: 'failed to start', err: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
});
