import type { EntityManager } from 'typeorm';
import type { SagaStatus } from '../saga-state';

/*
 * Which sagas a bulk operation would touch: the list's filters (status, type, search key)
 * plus the step a saga waits on or failed at, text in its errors and a creation time range.
 * Part of the engine's read side (saga-queries.ts): hosts select sagas through this, never
 * by SQL on the engine's tables.
 */

type Queryable = Pick<EntityManager, 'query'>;

export interface SagaSelection {
  readonly status?: SagaStatus;
  readonly type?: string;
  /** Exact search key (e.g. the site name). */
  readonly searchKey?: string;
  /**
   * A step name: the saga failed at it (`failure.failedStep`), or it is running,
   * compensating or stuck (`FAILED`) there.
   */
  readonly step?: string;
  /** Case-insensitive text in the saga's failure reason or in a step's error. */
  readonly errorContains?: string;
  /** Created at or after. */
  readonly createdFrom?: Date;
  /** Created before. */
  readonly createdBefore?: Date;
}

/** `%`, `_` and `\` taken literally in a LIKE pattern. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, (character) => `\\${character}`);

function whereOf(selection: SagaSelection, parameters: unknown[]): string {
  const parameter = (value: unknown): string => `$${parameters.push(value)}`;
  const conditions: string[] = [];
  if (selection.status) conditions.push(`i.status = ${parameter(selection.status)}`);
  if (selection.type) conditions.push(`i.type = ${parameter(selection.type)}`);
  if (selection.searchKey) conditions.push(`i.search_key = ${parameter(selection.searchKey)}`);
  if (selection.step) {
    const step = parameter(selection.step);
    conditions.push(
      `(i.failure ->> 'failedStep' = ${step} OR EXISTS (SELECT 1 FROM saga_steps s WHERE s.saga_id = i.id AND s.name = ${step} AND s.state IN ('RUNNING', 'COMPENSATING', 'FAILED')))`,
    );
  }
  if (selection.errorContains) {
    const pattern = parameter(`%${likeLiteral(selection.errorContains)}%`);
    conditions.push(`(i.failure ->> 'reason' ILIKE ${pattern} OR EXISTS (SELECT 1 FROM saga_steps s WHERE s.saga_id = i.id AND s.error ILIKE ${pattern}))`);
  }
  if (selection.createdFrom) conditions.push(`i.created_at >= ${parameter(selection.createdFrom)}`);
  if (selection.createdBefore) conditions.push(`i.created_at < ${parameter(selection.createdBefore)}`);
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}

export interface SagaSelectionCount {
  /** Every saga the selection matches. */
  readonly matched: number;
  /** Of those, how many are in each status. */
  readonly byStatus: Readonly<Record<string, number>>;
}

/** How many sagas match, by status. One statement; with a status or type it uses the list's indexes. */
export async function countSelectedSagas(manager: Queryable, selection: SagaSelection): Promise<SagaSelectionCount> {
  const parameters: unknown[] = [];
  const rows = (await manager.query(
    `SELECT i.status, count(*)::int AS count FROM saga_instances i ${whereOf(selection, parameters)} GROUP BY i.status`,
    parameters,
  )) as {
    status: string;
    count: number;
  }[];
  return { matched: rows.reduce((sum, row) => sum + row.count, 0), byStatus: Object.fromEntries(rows.map((row) => [row.status, row.count])) };
}

/** The ids of at most `limit` matching sagas, oldest first (created_at, id). */
export async function selectedSagaIds(manager: Queryable, selection: SagaSelection, limit: number): Promise<string[]> {
  const parameters: unknown[] = [];
  const where = whereOf(selection, parameters);
  parameters.push(Math.max(0, Math.floor(limit)));
  const rows = (await manager.query(`SELECT i.id FROM saga_instances i ${where} ORDER BY i.created_at, i.id LIMIT $${parameters.length}`, parameters)) as {
    id: string;
  }[];
  return rows.map((row) => row.id);
}
