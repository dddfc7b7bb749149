/**
 * ReserveSite latency through the sites service: produced → SiteReserved seen.
 *
 *   pnpm bench:sites [-- --count 300 --concurrency 8]
 *
 * Build first (pnpm --filter @sitesaga/sites... build). Uses KAFKA_BROKERS and
 * DATABASE_URL when set, else starts the local broker and Postgres.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ReserveSite, Topics } from '@sitesaga/contracts';
import { withLocalInfrastructure } from '../../../scripts/bench/local-infrastructure';
import { benchParticipant } from '../../../test/support/participant-bench';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { count: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '8' } } });
const run = randomUUID().slice(0, 8);

withLocalInfrastructure(() =>
  benchParticipant({
    app: 'sites',
    commandTopic: Topics.sitesCommands,
    eventTopic: Topics.sitesEvents,
    count: Number(values.count),
    concurrency: Number(values.concurrency),
    command: (index) => {
      const siteId = randomUUID();
      const name = `bench-${run}-${index < 0 ? `w${-index}` : index}`;
      return ReserveSite.create({ siteId, name, domain: `${name}.example.com`, adminEmail: 'bench@example.com' }, { sagaId: siteId, correlationId: siteId, causationId: null });
    },
  }),
).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
