import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGGER } from '@sitesaga/messaging';
import { foldSagaStatusCounts, SAGA_COUNT_FOLD_LIMIT } from '@sitesaga/saga';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

/** How often the status deltas are folded into the counts while nobody reads them. */
export const SAGA_COUNT_FOLD_INTERVAL_MS = 10_000;
/** Folds in one round at most: a backlog (a restore, a long quiet spell) drains over a few rounds. */
const MAX_FOLDS_PER_ROUND = 20;

/**
 * The saga engine keeps its counts by status as appended deltas (libs/saga, migration
 * 1764770000000); reading the counts (the admin stats, /metrics) folds them, and this
 * folds them on a timer as well, so that they stay few while nobody reads: every saga adds
 * two or three. Every replica may fold at once: each takes the deltas no other fold holds.
 * A failure is logged once per spell and tried again next round.
 */
@Injectable()
export class SagaCountFolding implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failing = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.foldOnce().then(() => {
        this.running = undefined;
      });
    }, SAGA_COUNT_FOLD_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round: folds until the deltas are drained (or MAX_FOLDS_PER_ROUND). How many it folded. */
  async foldOnce(): Promise<number> {
    let total = 0;
    try {
      for (let round = 0; round < MAX_FOLDS_PER_ROUND; round += 1) {
        const folded = await foldSagaStatusCounts(this.dataSource);
        total += folded;
        if (folded < SAGA_COUNT_FOLD_LIMIT) break;
      }
      if (this.failing) this.logger.info('saga counts: folding works again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: error }, 'saga counts: folding the status deltas failed; tried again every round');
      this.failing = true;
    }
    return total;
  }
}
