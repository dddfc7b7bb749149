import { SITE_CATALOGUE } from '@sitesaga/contracts';
import { UnitOfWork, type UnitOfWorkOptions } from '@sitesaga/messaging';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

/** The orchestrator's unit of work as its tests use it: no relay to wake; `preload` as site-saga's main wires it, when given. */
export const testUnitOfWork = (dataSource: DataSource, logger: Logger, options: Pick<UnitOfWorkOptions, 'preload'> = {}): UnitOfWork =>
  new UnitOfWork(dataSource, {
    consumer: 'site-saga',
    catalogue: SITE_CATALOGUE,
    logger,
    onOutboxWritten: () => undefined,
    backoff: { initialMs: 10, factor: 2, maxMs: 100, jitter: 0 },
    ...options,
  });
