import { SITE_CATALOGUE } from '@sitesaga/contracts';
import { UnitOfWork } from '@sitesaga/messaging';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

/** The orchestrator's unit of work as its tests use it: no relay to wake. */
export const testUnitOfWork = (dataSource: DataSource, logger: Logger): UnitOfWork =>
  new UnitOfWork(dataSource, {
    consumer: 'site-saga',
    catalogue: SITE_CATALOGUE,
    logger,
    onOutboxWritten: () => undefined,
    backoff: { initialMs: 10, factor: 2, maxMs: 100, jitter: 0 },
  });
