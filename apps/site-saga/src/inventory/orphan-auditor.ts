import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { OrphanReport } from '@sitesaga/http-contracts';
import { sagasById } from '@sitesaga/saga';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { InventoryRequests, type SourceInventory } from './inventory-requests';
import { auditOrphans, type Inventories, type KnownSaga, sagaIdsOf } from './orphan-audit';

/**
 * Gathers every participant's inventory over Kafka and audits it (orphan-audit.ts). The
 * effects (directories, databases, roles, participant records) are listed first and the
 * site records after them: every effect is made after its site was reserved, so the site
 * of anything listed is in the site listing, and a fresh site is never taken for missing.
 */
@Injectable()
export class OrphanAuditor {
  constructor(
    private readonly requests: InventoryRequests,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async audit(options: { maxItems?: number } = {}): Promise<OrphanReport> {
    const correlationId = randomUUID();
    const ask = { correlationId, ...(options.maxItems !== undefined ? { maxItems: options.maxItems } : {}) };
    const [directories, storageRecords, databases, roles, databaseRecords, bootstrapRecords] = await Promise.all([
      this.requests.collect('storage', 'directories', ask),
      this.requests.collect('storage', 'records', ask),
      this.requests.collect('databases', 'databases', ask),
      this.requests.collect('databases', 'roles', ask),
      this.requests.collect('databases', 'records', ask),
      this.requests.collect('bootstrap', 'records', ask),
    ]);
    const sites = await this.requests.collect('sites', 'records', ask);
    const all: SourceInventory[] = [sites, directories, storageRecords, databases, roles, databaseRecords, bootstrapRecords];
    const inventories: Inventories = {
      sites: sites.items,
      directories: directories.items,
      storageRecords: storageRecords.items,
      databases: databases.items,
      roles: roles.items,
      databaseRecords: databaseRecords.items,
      bootstrapRecords: bootstrapRecords.items,
      truncated: all.filter((source) => source.truncated).map((source) => `${source.owner}:${source.source}`),
    };
    const sagas = await this.knownSagas(sagaIdsOf(inventories));
    return auditOrphans(inventories, sagas, new Date());
  }

  /** The orchestrator's sagas among `ids`, a thousand per statement. */
  private async knownSagas(ids: readonly string[]): Promise<Map<string, KnownSaga>> {
    const known = new Map<string, KnownSaga>();
    for (let start = 0; start < ids.length; start += 1000) {
      for (const saga of await sagasById(this.dataSource.manager, ids.slice(start, start + 1000))) {
        known.set(saga.id, { id: saga.id, type: saga.type, status: saga.status });
      }
    }
    return known;
  }
}
