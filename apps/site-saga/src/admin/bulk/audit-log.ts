import { HttpException, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AuditEntry, AuditPage, BulkFilter } from '@sitesaga/http-contracts';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { ADMIN_LOGGER } from '../saga-stream';
import type { AuditLogQuery } from './bulk-request-validation';
import { BULK_COLUMNS, type BulkRow, bulkViewOf } from './bulk-views';

export type AuditAction = AuditEntry['action'];
export type AuditOutcome = AuditEntry['outcome'];

export interface AuditRecord {
  readonly operator: string;
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  readonly sagaId?: string;
  readonly bulkId?: string;
  readonly filter?: BulkFilter;
  readonly reason?: string | null;
  readonly detail?: string | null;
}

/** Texts are cut to the column's bound: an audit entry is never refused for its length. */
const bounded = (text: string | null | undefined, max: number): string | null =>
  text == null ? null : text.length > max ? `${text.slice(0, max - 1)}…` : text;

interface AuditRow {
  id: string;
  at: Date;
  operator: string;
  action: AuditAction;
  outcome: AuditOutcome;
  saga_id: string | null;
  bulk_id: string | null;
  filter: BulkFilter | null;
  reason: string | null;
  detail: string | null;
}

/**
 * The audit log (`admin_audit_log`): one entry per operator action, with who (the operator's
 * token name), what, on which saga or filter, and how it went. Bulk entries link to their
 * operation, whose counts and saga ids (admin_bulk_operation_items) are its progress.
 */
@Injectable()
export class AuditLog {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ADMIN_LOGGER) private readonly logger: Logger,
  ) {}

  async record(entry: AuditRecord, manager: Pick<EntityManager, 'query'> = this.dataSource.manager): Promise<void> {
    await manager.query(
      `INSERT INTO admin_audit_log (at, operator, action, outcome, saga_id, bulk_id, filter, reason, detail) VALUES (now(), $1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        bounded(entry.operator, 64),
        entry.action,
        entry.outcome,
        entry.sagaId ?? null,
        entry.bulkId ?? null,
        entry.filter ? JSON.stringify(entry.filter) : null,
        bounded(entry.reason, 500),
        bounded(entry.detail, 500),
      ],
    );
  }

  /**
   * Runs a single-saga action and records how it went: `accepted`, `refused` (a 4xx: not in
   * a state for it, unknown saga) or `failed`. The action's own answer or error goes back
   * unchanged: the action is already committed when its entry is written, so an entry that
   * cannot be written is logged (with who did what) rather than turned into an error.
   */
  async recorded<T>(entry: Omit<AuditRecord, 'outcome' | 'detail'>, action: () => Promise<T & { status?: string }>): Promise<T> {
    let result: T & { status?: string };
    try {
      result = await action();
    } catch (error) {
      const refused = error instanceof HttpException && error.getStatus() < 500;
      await this.recordOrLog({
        ...entry,
        outcome: refused ? 'refused' : 'failed',
        detail: error instanceof HttpException ? messageOf(error) : 'internal error',
      });
      throw error;
    }
    await this.recordOrLog({ ...entry, outcome: 'accepted', detail: result.status ? `saga now ${result.status}` : null });
    return result;
  }

  private async recordOrLog(entry: AuditRecord): Promise<void> {
    await this.record(entry).catch((error: unknown) => this.logger.error({ err: error, audit: entry }, 'could not write an audit log entry'));
  }

  /** Newest first, keyset by id. */
  async list(query: AuditLogQuery): Promise<AuditPage> {
    const parameters: unknown[] = [];
    const parameter = (value: unknown): string => `$${parameters.push(value)}`;
    const conditions: string[] = [];
    if (query.operator) conditions.push(`a.operator = ${parameter(query.operator)}`);
    if (query.action) conditions.push(`a.action = ${parameter(query.action)}`);
    if (query.sagaId) conditions.push(`a.saga_id = ${parameter(query.sagaId)}`);
    if (query.cursor) conditions.push(`a.id < ${parameter(query.cursor)}::bigint`);
    const rows = (await this.dataSource.query(
      `SELECT a.id::text, a.at, a.operator, a.action, a.outcome, a.saga_id, a.bulk_id, a.filter, a.reason, a.detail, ${BULK_COLUMNS.replace(/\bb\.(\w+)/g, 'b.$1 AS bulk__$1')}
         FROM admin_audit_log a LEFT JOIN admin_bulk_operations b ON b.id = a.bulk_id
        ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY a.id DESC LIMIT ${parameter(query.limit + 1)}`,
      parameters,
    )) as (AuditRow & Record<string, unknown>)[];
    const page = rows.slice(0, query.limit);
    return {
      items: page.map((row) => entryOf(row)),
      nextCursor: rows.length > query.limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }
}

function entryOf(row: AuditRow & Record<string, unknown>): AuditEntry {
  const bulk = Object.fromEntries(
    Object.entries(row)
      .filter(([key]) => key.startsWith('bulk__'))
      .map(([key, value]) => [key.slice('bulk__'.length), value]),
  ) as unknown as BulkRow;
  return {
    id: row.id,
    at: row.at.toISOString(),
    operator: row.operator,
    action: row.action,
    outcome: row.outcome,
    sagaId: row.saga_id,
    bulkId: row.bulk_id,
    filter: row.filter,
    reason: row.reason,
    detail: row.detail,
    bulk: bulk.id ? bulkViewOf(bulk) : null,
  };
}

function messageOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return typeof message === 'string' ? message : error.message;
}
