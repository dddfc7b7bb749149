import { Counter, Gauge, Registry } from 'prom-client';

/** Bulk operation figures on the service's /metrics (docs/observability.md). */
export class BulkMetrics {
  /** `outcome`: started, completed, cancelled, refused (a 409: same filter running, or too many running). */
  readonly operations: Counter<'action' | 'outcome'>;
  /** One per saga a bulk handled: done, skipped (not in a status the action applies to), failed. */
  readonly sagas: Counter<'action' | 'outcome'>;
  /** Bulks this replica is running now. */
  readonly running: Gauge;

  constructor(registry: Registry | null) {
    const registers = [registry ?? new Registry()];
    this.operations = new Counter({
      name: 'admin_bulk_operations_total',
      help: 'Admin bulk operations, by action and outcome (started, completed, cancelled, refused)',
      labelNames: ['action', 'outcome'],
      registers,
    });
    this.sagas = new Counter({
      name: 'admin_bulk_operation_sagas_total',
      help: 'Sagas handled by admin bulk operations, by action and outcome (done, skipped, failed)',
      labelNames: ['action', 'outcome'],
      registers,
    });
    this.running = new Gauge({ name: 'admin_bulk_operations_running', help: 'Admin bulk operations this replica is running', registers });
  }
}

export const bulkMetricsProvider = {
  provide: BulkMetrics,
  useFactory: (registry?: Registry) => new BulkMetrics(registry ?? null),
  inject: [{ token: Registry, optional: true }],
};
