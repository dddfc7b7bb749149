import type { FactoryProvider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { LOGGER, ScrapeCache } from '@sitesaga/messaging';
import { oldestIdleSagas, SAGA_STATUSES, type SagaState, sagaStatusCounts } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { Gauge, Histogram, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { isEmpty, observationsOf, type SagaObservations } from './saga-observations';

export interface SagaMetricsOptions {
  /** Saga types always reported by `sagas` (0 when none), so their series never vanish. */
  readonly sagaTypes?: readonly string[];
  readonly logger?: Logger;
  /** How long one reading of the saga counts serves scrapes. Default 2 s. */
  readonly reuseMs?: number;
  /** A count slower than this serves the previous one. Default 1 s. */
  readonly timeoutMs?: number;
}

interface SagaCount {
  readonly type: string;
  readonly status: string;
  readonly count: number;
  /** Seconds since the least recent change of a saga in this status (statuses under way only, else 0). */
  readonly idle: number;
}

/** The counts the engine keeps, and how long the sagas under way have been idle: neither reads the finished ones. */
async function countSagas(dataSource: DataSource): Promise<SagaCount[]> {
  const [counts, idle] = await Promise.all([sagaStatusCounts(dataSource), oldestIdleSagas(dataSource)]);
  const idleOf = new Map(idle.map((row) => [`${row.type}\n${row.status}`, row.idleSeconds]));
  return counts.map((row) => ({ ...row, idle: idleOf.get(`${row.type}\n${row.status}`) ?? 0 }));
}

/** The statuses of a saga still under way: one that stays in them without a change is stuck. */
const ACTIVE_STATUSES = ['RUNNING', 'COMPENSATING'] as const;

/** Changes saved but not yet known to be committed, and compensation starts, are kept for at most this many sagas. */
const MAX_TRACKED = 10_000;

/**
 * The orchestrator's saga figures on the messaging module's /metrics registry:
 *
 * - `sagas{type,status}`: how many sagas are in each status, from the counts the saga
 *   engine keeps as sagas change (read when Prometheus scrapes, reused for 2 s): the same
 *   cost at a million sagas as at ten. Every replica reports the whole table: aggregate
 *   with `max`, not `sum`.
 * - `saga_oldest_idle_seconds{type,status}` (RUNNING, COMPENSATING): read with the counts,
 *   how long the least recently changed saga still under way has gone without a change.
 * - `saga_step_duration_seconds{saga_type,step,outcome}` and
 *   `saga_duration_seconds{type,status}`: observed when this process commits the change
 *   that finishes a step or a saga, so each replica counts only its own changes and a
 *   `sum` over replicas counts each once.
 *
 * How changes are seen without touching the engine: the engine's store is a
 * `MeasuredSagaStore`, which hands every saved change (previous and next state, in
 * memory, no query) to `saved()` inside the transaction. Nothing is observed until the
 * change is known to be committed: `committed(sagaId)` (SagaChanges, after each commit
 * of this process), or a later save of the same saga loaded at that version (e.g. an
 * operator's abort from the admin API, which does not go through SagaChanges). A change
 * whose transaction rolled back is replaced by the retry's, or dropped.
 *
 * Step durations: a forward leg runs from the first send of its command to its reply
 * (retries included), both persisted; a compensation leg from the send of its
 * compensation, as seen by this process (a compensation started by another replica or
 * before a restart has no known start and is not observed).
 */
export class SagaMetrics {
  readonly sagas: Gauge<'type' | 'status'>;
  readonly oldestIdle: Gauge<'type' | 'status'>;
  readonly stepSeconds: Histogram<'saga_type' | 'step' | 'outcome'>;
  readonly sagaSeconds: Histogram<'type' | 'status'>;
  private readonly counts: ScrapeCache<SagaCount[]>;
  private readonly pending = new Map<string, SagaObservations>();
  private readonly compensationStarts = new Map<string, Date>();

  constructor(registry: Registry, dataSource: DataSource, options: SagaMetricsOptions = {}) {
    const knownTypes = new Set(options.sagaTypes ?? []);
    this.counts = new ScrapeCache(
      () => countSagas(dataSource),
      {
        reuseMs: options.reuseMs ?? 2_000,
        timeoutMs: options.timeoutMs ?? 1_000,
        onError: (error) => options.logger?.warn({ err: error }, 'counting sagas for /metrics failed'),
      },
    );
    const counts = this.counts;
    this.sagas = new Gauge({
      name: 'sagas',
      help: 'Sagas by type and status, counted from saga_instances at scrape time (the same on every replica)',
      labelNames: ['type', 'status'],
      registers: [registry],
      async collect() {
        const rows = await counts.get();
        if (!rows) return; // no count yet: report nothing rather than zeros
        for (const row of rows) knownTypes.add(row.type);
        this.reset();
        for (const type of knownTypes) for (const status of SAGA_STATUSES) this.set({ type, status }, 0);
        for (const row of rows) this.set({ type: row.type, status: row.status }, row.count);
      },
    });
    this.oldestIdle = new Gauge({
      name: 'saga_oldest_idle_seconds',
      help: 'How long the RUNNING (or COMPENSATING) saga of a type that changed least recently has gone without a change; 0 when none (the same on every replica). A stuck saga shows here.',
      labelNames: ['type', 'status'],
      registers: [registry],
      async collect() {
        const rows = await counts.get();
        if (!rows) return;
        this.reset();
        for (const type of knownTypes) for (const status of ACTIVE_STATUSES) this.set({ type, status }, 0);
        for (const row of rows) if ((ACTIVE_STATUSES as readonly string[]).includes(row.status)) this.set({ type: row.type, status: row.status }, Math.round(row.idle));
      },
    });
    this.stepSeconds = new Histogram({
      name: 'saga_step_duration_seconds',
      help: 'Duration of a saga step leg, by saga type, step and outcome (SUCCEEDED, FAILED, COMPENSATED, COMPENSATION_FAILED)',
      labelNames: ['saga_type', 'step', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    });
    this.sagaSeconds = new Histogram({
      name: 'saga_duration_seconds',
      help: 'Time from a saga start to its end, by type and final status (COMPLETED, COMPENSATED, FAILED)',
      labelNames: ['type', 'status'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    });
  }

  /** Called by the store inside the transaction, after the version-checked save. Never throws. */
  saved(previous: SagaState, next: SagaState): void {
    const earlier = this.pending.get(next.id);
    if (earlier) {
      this.pending.delete(next.id);
      // Loaded at the version that change wrote: it committed. Otherwise it rolled back.
      if (previous.version >= earlier.version) this.observe(earlier);
    }
    const observations = observationsOf(previous, next);
    if (isEmpty(observations)) return;
    this.pending.set(next.id, observations);
    forget(this.pending);
  }

  /** The change this process saved for `sagaId` is committed. Cheap; never throws. */
  committed(sagaId: string): void {
    const observations = this.pending.get(sagaId);
    if (!observations) return;
    this.pending.delete(sagaId);
    this.observe(observations);
  }

  private observe(observations: SagaObservations): void {
    const { sagaId, sagaType } = observations;
    for (const step of observations.compensationsStarted) this.compensationStarts.set(`${sagaId}/${step}`, observations.at);
    forget(this.compensationStarts);
    for (const step of observations.finishedSteps) {
      let startedAt = step.startedAt;
      if (step.leg === 'compensation') {
        startedAt = this.compensationStarts.get(`${sagaId}/${step.name}`) ?? null;
        this.compensationStarts.delete(`${sagaId}/${step.name}`);
      }
      const labels = { saga_type: sagaType, step: step.name, outcome: step.outcome };
      if (startedAt) this.stepSeconds.observe(labels, Math.max(0, (step.finishedAt.getTime() - startedAt.getTime()) / 1000));
    }
    if (observations.finished) this.sagaSeconds.observe({ type: sagaType, status: observations.finished.status }, observations.finished.seconds);
  }
}

/** Keeps a map of per-saga entries bounded: the oldest go first (maps iterate in insertion order). */
function forget(entries: Map<string, unknown>): void {
  for (const key of entries.keys()) {
    if (entries.size <= MAX_TRACKED) return;
    entries.delete(key);
  }
}

/** The Nest provider: the messaging module's Registry and LOGGER, TypeORM's DataSource. */
export const sagaMetricsProvider = (sagaTypes: readonly string[]): FactoryProvider<SagaMetrics> => ({
  provide: SagaMetrics,
  useFactory: (registry: Registry, dataSource: DataSource, logger: Logger) =>
    new SagaMetrics(registry, dataSource, { sagaTypes, logger: logger.child({ component: 'saga-metrics' }) }),
  inject: [Registry, getDataSourceToken(), LOGGER],
});
