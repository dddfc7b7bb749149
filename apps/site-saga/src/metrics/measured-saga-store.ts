import { type HistoryEntry, type SagaState, SagaStore, type SagaStoreOptions, type SagaWriteTarget } from '@sitesaga/saga';
import type { SagaMetrics } from './saga-metrics';

/**
 * The engine's store, telling `SagaMetrics` of every saved change (previous and next
 * state, already in memory): the engine needs no hook and the metrics no query. Runs
 * inside the caller's transaction, so the metrics wait for the commit (see SagaMetrics).
 */
export class MeasuredSagaStore extends SagaStore {
  constructor(
    private readonly metrics: Pick<SagaMetrics, 'saved'>,
    options: SagaStoreOptions = {},
  ) {
    super(options);
  }

  override async save<D>(target: SagaWriteTarget, previous: SagaState<D>, next: SagaState<D>, history?: readonly HistoryEntry[]): Promise<SagaState<D>> {
    const saved = await super.save(target, previous, next, history);
    try {
      this.metrics.saved(previous, saved);
    } catch {
      // A figure is never worth failing a saga's change.
    }
    return saved;
  }
}
