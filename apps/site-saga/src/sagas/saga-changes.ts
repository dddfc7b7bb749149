import { Injectable } from '@nestjs/common';
import { SagaStream } from '../admin/saga-stream';
import { SagaMetrics } from '../metrics/saga-metrics';

/**
 * Told of every saga change this process committed, so the admin stream pushes it at
 * once (changes committed by other replicas reach the stream through its poll), and the
 * saga metrics observe the steps and sagas that change finished.
 */
@Injectable()
export class SagaChanges {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly stream: SagaStream,
    private readonly metrics: SagaMetrics,
  ) {}

  /** Call only after the transaction committed. Cheap; never throws. */
  committed(sagaId: string): void {
    this.metrics.committed(sagaId);
    this.stream.publish(sagaId);
    for (const listener of this.listeners) listener();
  }

  /** Calls `listener` after every saga change this process commits (e.g. a new deadline). */
  onCommitted(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
