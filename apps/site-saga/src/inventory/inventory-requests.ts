import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  INVENTORY_COMMANDS,
  INVENTORY_PAGE_MAX,
  type InventoryItem,
  type InventoryMatch,
  type InventoryOwner,
  type InventorySource,
} from '@sitesaga/contracts';
import { UnitOfWork } from '@sitesaga/messaging';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { INVENTORY_LOGGER, INVENTORY_OPTIONS, type InventoryOptions } from './inventory-options';

/** A participant did not answer an inventory request in time, or answered with a failure. */
export class InventoryUnavailable extends Error {
  constructor(
    readonly owner: InventoryOwner,
    readonly source: string,
    why: string,
  ) {
    super(`${owner} did not report its ${source}: ${why}`);
    this.name = 'InventoryUnavailable';
  }
}

/** What one source holds: its items, and whether the cap cut the listing short. */
export interface SourceInventory {
  readonly owner: InventoryOwner;
  readonly source: string;
  readonly items: InventoryItem[];
  /** More items exist than `maxItems` allowed: the audit of this source is incomplete. */
  readonly truncated: boolean;
}

interface PageRow {
  items: InventoryItem[] | null;
  next_cursor: string | null;
  failure: string | null;
}

/** Rows older than this are answers nobody read (the asker gave up or died): pruned. */
const STALE_PAGE_MS = 10 * 60_000;

/**
 * Asks a participant over Kafka what it holds, page by page: each page is one
 * `Report<Owner>Inventory` command (through the outbox, keyed by its request id) and one
 * reply, which whichever replica consumes it writes to `inventory_pages`
 * (InventoryRepliesHandler); the asker waits for that row, woken at once when the reply
 * landed in this process, else by polling. Bounded: `maxItems` per source, a deadline per
 * page.
 */
@Injectable()
export class InventoryRequests {
  private readonly waiters = new Map<string, () => void>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly unitOfWork: UnitOfWork,
    @Inject(INVENTORY_OPTIONS) private readonly options: InventoryOptions,
    @Inject(INVENTORY_LOGGER) private readonly logger: Logger,
  ) {}

  /** Called by the reply handler after its commit: wakes the asker in this process. */
  received(requestId: string): void {
    this.waiters.get(requestId)?.();
  }

  /** Every item of one source, up to `maxItems` (then `truncated`). */
  async collect<O extends InventoryOwner>(
    owner: O,
    source: InventorySource<O>,
    options: { maxItems?: number; correlationId?: string } = {},
  ): Promise<SourceInventory> {
    const maxItems = options.maxItems ?? this.options.maxItemsPerSource;
    const items: InventoryItem[] = [];
    let after: string | null = null;
    for (;;) {
      const limit = Math.max(1, Math.min(INVENTORY_PAGE_MAX, this.options.pageSize, maxItems - items.length + 1));
      const page = await this.page(owner, source, after, limit, options.correlationId);
      items.push(...page.items);
      if (page.nextCursor === null) return { owner, source, items, truncated: false };
      if (items.length >= maxItems) return { owner, source, items: items.slice(0, maxItems), truncated: true };
      after = page.nextCursor;
    }
  }

  /** One page: the command, then its reply. */
  async page(
    owner: InventoryOwner,
    source: string,
    after: string | null,
    limit: number,
    correlationId?: string,
    match?: InventoryMatch,
  ): Promise<{ items: InventoryItem[]; nextCursor: string | null }> {
    const command = INVENTORY_COMMANDS[owner];
    const requestId = randomUUID();
    const woken = new Promise<void>((resolve) => this.waiters.set(requestId, resolve));
    try {
      await this.unitOfWork.run(null, async (tx) => {
        tx.publish(
          command.create(
            { requestId, source: source as never, after, limit, ...(match ? { match } : {}) },
            { sagaId: requestId, correlationId: correlationId ?? requestId, causationId: null },
          ),
        );
      });
      const deadline = Date.now() + this.options.replyTimeoutMs;
      for (;;) {
        // TypeORM answers a DELETE … RETURNING with [rows, count] on Postgres.
        const answer: unknown = await this.dataSource.query(`DELETE FROM inventory_pages WHERE request_id = $1 RETURNING items, next_cursor, failure`, [
          requestId,
        ]);
        const rows = (Array.isArray(answer) && Array.isArray(answer[0]) ? answer[0] : answer) as PageRow[];
        const row = rows[0];
        if (row) {
          if (row.failure !== null) throw new InventoryUnavailable(owner, source, row.failure);
          return { items: row.items ?? [], nextCursor: row.next_cursor };
        }
        const left = deadline - Date.now();
        if (left <= 0)
          throw new InventoryUnavailable(
            owner,
            source,
            `no answer within ${Math.round(this.options.replyTimeoutMs / 1000)} s (is the ${owner} service running?)`,
          );
        await Promise.race([woken, sleep(Math.min(left, 200))]);
      }
    } finally {
      this.waiters.delete(requestId);
      await this.pruneStale();
    }
  }

  private lastPrune = 0;

  private async pruneStale(): Promise<void> {
    if (Date.now() - this.lastPrune < 60_000) return;
    this.lastPrune = Date.now();
    await this.dataSource
      .query(`DELETE FROM inventory_pages WHERE received_at < now() - make_interval(secs => $1)`, [STALE_PAGE_MS / 1000])
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not prune stale inventory pages'));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
