import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { classifyFailure, delay, LOGGER, UnitOfWork } from '@sitesaga/messaging';
import { SagaConcurrencyConflict, SagaEngine } from '@sitesaga/saga';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { SagaChanges } from '../sagas/saga-changes';

/**
 * No saga waits forever: every waiting step has a persisted deadline, and this loop fires
 * the ones that passed (re-send after backoff, re-send after a missing reply, or give up
 * and compensate). Each deadline is handled in its own transaction; when two replicas
 * race for one, the saga's version lets exactly one win and the other skips it.
 */
@Injectable()
export class DeadlineSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly engine: SagaEngine,
    private readonly unitOfWork: UnitOfWork,
    private readonly changes: SagaChanges,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject('SAGA_TIMER_INTERVAL_MS') private readonly intervalMs: number,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Fires every deadline due now; returns how many changed a saga. */
  async sweep(): Promise<number> {
    const due = await this.engine.dueDeadlines(this.dataSource.manager, 200);
    let fired = 0;
    for (const { sagaId, step } of due) {
      try {
        const outcome = await this.unitOfWork.run(null, (tx) => this.engine.fireDeadline(tx, sagaId, step));
        if (outcome.status === 'done' && outcome.result) {
          fired += 1;
          this.changes.committed(sagaId);
        }
      } catch (error) {
        if (error instanceof SagaConcurrencyConflict) continue; // another replica got there first
        throw error;
      }
    }
    return fired;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.sweep();
      } catch (error) {
        this.logger.warn({ err: error, kind: classifyFailure(error) }, 'deadline sweep failed; will retry');
      }
      await delay(this.intervalMs);
    }
  }
}
