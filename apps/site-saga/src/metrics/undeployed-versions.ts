import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGGER, ScrapeCache } from '@sitesaga/messaging';
import { SagaEngine, sagasOnUndeployedVersions, type UndeployedVersion } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { Gauge, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/**
 * Sagas not ended whose definition version this orchestrator does not run (docs/adr/0007):
 * they wait untouched, replies parked, until the version is deployed again. Reported so a
 * deploy that dropped a version still in use is noticed:
 * - `saga_undeployed_version_sagas{type,version}`, counted at scrape time (reused 5 s);
 * - one warning per such version at boot, naming the oldest of its sagas.
 */
@Injectable()
export class UndeployedVersions implements OnApplicationBootstrap {
  private readonly counts: ScrapeCache<UndeployedVersion[]>;

  constructor(
    private readonly engine: SagaEngine,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    registry: Registry,
  ) {
    this.counts = new ScrapeCache(() => this.find(), {
      reuseMs: 5_000,
      timeoutMs: 1_000,
      onError: (error) => this.logger.warn({ err: error }, 'counting sagas on undeployed definition versions failed'),
    });
    const counts = this.counts;
    new Gauge({
      name: 'saga_undeployed_version_sagas',
      help: 'Sagas not ended whose definition version this orchestrator does not run (they wait for it), by type and version',
      labelNames: ['type', 'version'],
      registers: [registry],
      async collect() {
        const rows = await counts.get();
        if (!rows) return;
        this.reset();
        for (const row of rows) this.set({ type: row.type, version: String(row.definitionVersion) }, row.count);
      },
    });
  }

  find(): Promise<UndeployedVersion[]> {
    return sagasOnUndeployedVersions(this.dataSource.manager, this.engine.deployment);
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      for (const row of await this.find()) {
        this.logger.warn(
          { sagaType: row.type, definitionVersion: row.definitionVersion, count: row.count, sagaIds: row.sagaIds, deployed: this.engine.versionsOf(row.type) },
          `${row.count} ${row.type} saga(s) started on version ${row.definitionVersion}, which is not deployed: they wait (replies parked) until it is, e.g. ${row.sagaIds.join(', ')}`,
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not look for sagas on undeployed definition versions');
    }
  }
}
