import type { EntityManager } from 'typeorm';

/** The SQL of `storage_records`, in the caller's transaction. */
export async function recordProvisioned(manager: EntityManager, record: { siteId: string; path: string; sagaId: string }): Promise<void> {
  await manager.query(
    `INSERT INTO storage_records (site_id, path, status, saga_id) VALUES ($1, $2, 'PROVISIONED', $3)
     ON CONFLICT (site_id) DO UPDATE SET path = EXCLUDED.path, status = 'PROVISIONED', saga_id = EXCLUDED.saga_id, updated_at = now()`,
    [record.siteId, record.path, record.sagaId],
  );
}

/** A site never provisioned keeps no row: there is nothing to record. */
export async function recordDeprovisioned(manager: EntityManager, record: { siteId: string; sagaId: string }): Promise<void> {
  await manager.query(`UPDATE storage_records SET status = 'DEPROVISIONED', saga_id = $2, updated_at = now() WHERE site_id = $1`, [
    record.siteId,
    record.sagaId,
  ]);
}
