import type { EntityManager } from 'typeorm';
import { DatabaseRecordEntity, type DatabaseStatus } from './database-record.entity';

/**
 * Serialises the commands of one site across replicas for the rest of the transaction:
 * a re-sent ProvisionDatabase waits for the first to commit, then finds its record (and
 * its password) instead of racing it on the site server.
 */
export async function lockSite(manager: EntityManager, siteId: string): Promise<void> {
  await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 3003))`, [siteId]);
}

export const findDatabaseRecord = (manager: EntityManager, siteId: string): Promise<DatabaseRecordEntity | null> =>
  manager.findOneBy(DatabaseRecordEntity, { siteId });

export async function saveDatabaseRecord(
  manager: EntityManager,
  record: { siteId: string; databaseName: string; roleName: string; passwordEncrypted: string | null; status: DatabaseStatus; sagaId: string },
): Promise<void> {
  await manager.query(
    `INSERT INTO database_records (site_id, database_name, role_name, password_encrypted, status, saga_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (site_id) DO UPDATE
       SET password_encrypted = EXCLUDED.password_encrypted, status = EXCLUDED.status, saga_id = EXCLUDED.saga_id, updated_at = now()`,
    [record.siteId, record.databaseName, record.roleName, record.passwordEncrypted, record.status, record.sagaId],
  );
}
