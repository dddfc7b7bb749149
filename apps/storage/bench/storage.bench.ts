/**
 * ProvisionStorage latency through the storage service: produced → StorageProvisioned
 * seen (a directory tree built under a temporary STORAGE_ROOT, renamed into place, fsynced).
 *
 *   pnpm bench:storage [-- --count 300 --concurrency 8]
 *
 * Build first (pnpm --filter @sitesaga/storage... build). Uses KAFKA_BROKERS and
 * DATABASE_URL when set, else starts the local broker and Postgres.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ProvisionStorage, Topics } from '@sitesaga/contracts';
import { withLocalInfrastructure } from '../../../scripts/bench/local-infrastructure';
import { benchParticipant } from '../../../test/support/participant-bench';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { count: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '8' } } });
const root = mkdtempSync(path.join(tmpdir(), 'storage-bench-'));

withLocalInfrastructure(() =>
  benchParticipant({
    app: 'storage',
    commandTopic: Topics.storageCommands,
    eventTopic: Topics.storageEvents,
    count: Number(values.count),
    concurrency: Number(values.concurrency),
    env: { STORAGE_ROOT: root },
    command: () => {
      const siteId = randomUUID();
      return ProvisionStorage.create({ siteId }, { sagaId: siteId, correlationId: siteId, causationId: null });
    },
  }),
)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(root, { recursive: true, force: true }));
