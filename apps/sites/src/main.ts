import 'reflect-metadata';
import { SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import { runService, serveApiDocs } from '@sitesaga/service';
import { configureHttp } from './http/http-configuration';
import { SITES_API_DOCS } from './http/sites-api-docs';
import { CreateSites1732400001000 } from './persistence/migrations/1732400001000-create-sites';
import { SiteOwners1764600000000 } from './persistence/migrations/1764600000000-site-owners';
import { SiteRequestEntity } from './persistence/site-request.entity';
import { SiteEntity } from './persistence/site.entity';
import { SitesModule } from './sites.module';
import { SITES_ENV } from './sites-env';

runService({
  name: 'sites',
  catalogue: SITE_CATALOGUE,
  defaultPort: 3001,
  env: SITES_ENV,
  topics: [Topics.sitesCommands],
  // Its commands are cheap (a row each): a fetched batch shares one unit of work.
  batchSize: 32,
  entities: [SiteEntity, SiteRequestEntity],
  migrations: [CreateSites1732400001000, SiteOwners1764600000000],
  module: (infrastructure) => SitesModule.register(infrastructure),
  configure: (app, infrastructure) => {
    configureHttp(app, infrastructure.logger);
    serveApiDocs(app, SITES_API_DOCS);
  },
}).catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'fatal', service: 'sites', msg: 'failed to start', err: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
});
