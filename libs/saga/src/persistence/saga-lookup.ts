import type { EntityManager } from 'typeorm';
import { type SagaListing, sagasById } from './saga-queries';

type Queryable = Pick<EntityManager, 'query'>;

/**
 * The sagas whose data holds `value` at the top-level field `field` (e.g. every saga of
 * one site: `sagasWithDataField(m, 'siteId', id)`), newest first, at most `limit`. The host
 * indexes the expression `(data ->> field)` for the fields it asks about; without an index
 * this reads the whole table.
 */
export async function sagasWithDataField(
  manager: Queryable,
  field: string,
  value: string,
  limit: number,
  dataFields: readonly string[] = [],
): Promise<SagaListing[]> {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(field)) throw new Error('a data field is a plain identifier');
  const rows = (await manager.query(`SELECT id FROM saga_instances WHERE data ->> '${field}' = $1 ORDER BY created_at DESC LIMIT $2`, [value, limit])) as {
    id: string;
  }[];
  const found = await sagasById(
    manager,
    rows.map((row) => row.id),
    dataFields,
  );
  return found.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}
