import 'reflect-metadata';
import { ALL_TOPICS, CreateSite, DeleteSite, SITE_CATALOGUE, Topics } from '@sitesaga/contracts';
import { runService, serveApiDocs } from '@sitesaga/service';
import { SAGA_ENTITIES, SagaStore, sagaPreload } from '@sitesaga/saga';
import { SITE_SAGA_API_DOCS } from './docs/site-saga-api-docs';
import { SITE_SAGA_MIGRATIONS } from './persistence/site-saga-migrations';
import { SiteSagaModule } from './site-saga.module';
import { siteSagaConfigFromEnv } from './site-saga-config';
import { SITE_SAGA_ENV } from './site-saga-env';

/** The orchestrator's own config, once the environment passed its schema: a refusal (production without a real token) is one clear line, never the value. */
function configOrExit(): ReturnType<typeof siteSagaConfigFromEnv> {
  try {
    return siteSagaConfigFromEnv();
  } catch (error) {
    console.error(JSON.stringify({ level: 'fatal', service: 'site-saga', msg: `refusing to start: ${error instanceof Error ? error.message : String(error)}` }));
    process.exit(1);
  }
}

void runService({
  name: 'site-saga',
  catalogue: SITE_CATALOGUE,
  defaultPort: 3000,
  env: SITE_SAGA_ENV,
  // Client commands, and every participant's events.
  topics: [Topics.siteSagaCommands, ...ALL_TOPICS.filter((topic) => topic.endsWith('.events') && topic !== Topics.siteSagaEvents)],
  // Its handlers are cheap (load, decide, save): the messages of a fetched batch share
  // one transaction, which saves most of a unit of work's round trips under load.
  batchSize: 32,
  // ...and read their sagas with its BEGIN, in one statement (saves are deferred to the
  // COMMIT); a reply to a saga this process committed last reads nothing: one round trip.
  preload: sagaPreload(new SagaStore(), { starts: [CreateSite.type, DeleteSite.type] }),
  entities: [...SAGA_ENTITIES],
  migrations: [...SITE_SAGA_MIGRATIONS],
  module: (infrastructure) => SiteSagaModule.register(infrastructure, configOrExit()),
  configure: (app) => serveApiDocs(app, SITE_SAGA_API_DOCS),
}).catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'fatal', service: 'site-saga', msg: 'failed to start', err: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
});
