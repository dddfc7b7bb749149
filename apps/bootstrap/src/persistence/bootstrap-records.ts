import type { EntityManager } from 'typeorm';
import type { BootstrapStatus } from './bootstrap-record.entity';

/** Serialises the commands of one site across replicas for the rest of the transaction. */
export async function lockSite(manager: EntityManager, siteId: string): Promise<void> {
  await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 3004))`, [siteId]);
}

export async function saveBootstrapRecord(
  manager: EntityManager,
  record: { siteId: string; status: BootstrapStatus; adminUser: string; bootstrapVersion: string; sagaId: string },
): Promise<void> {
  await manager.query(
    `INSERT INTO bootstrap_records (site_id, status, admin_user, bootstrap_version, saga_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (site_id) DO UPDATE SET status = EXCLUDED.status, saga_id = EXCLUDED.saga_id, updated_at = now()`,
    [record.siteId, record.status, record.adminUser, record.bootstrapVersion, record.sagaId],
  );
}
