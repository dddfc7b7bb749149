import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { ORPHAN_KINDS, type OrphanReport } from '@sitesaga/http-contracts';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { INVENTORY_LOGGER, INVENTORY_OPTIONS, type InventoryOptions } from './inventory-options';
import { OrphanAuditor } from './orphan-auditor';

/**
 * `sitesaga_orphans{kind}` on /metrics: the counts of the latest audit, by kind (and
 * `incomplete-site`), refreshed every ORPHAN_AUDIT_INTERVAL_MS and by every audit an
 * operator runs. The cost of one refresh is bounded: pages of ORPHAN_AUDIT_PAGE_SIZE, at
 * most ORPHAN_AUDIT_MAX_ITEMS per source (`orphan_audit_truncated` says when that cut it
 * short), and one refresh at a time.
 */
@Injectable()
export class OrphanMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly orphans: Gauge<'kind'>;
  private readonly truncated: Gauge;
  private readonly lastSuccess: Gauge;
  private readonly duration: Gauge;
  private readonly failures: Counter;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly auditor: OrphanAuditor,
    @Inject(INVENTORY_OPTIONS) private readonly options: InventoryOptions,
    @Inject(INVENTORY_LOGGER) private readonly logger: Logger,
    @Optional() @Inject(Registry) registry: Registry | null,
  ) {
    const registers = [registry ?? new Registry()];
    this.orphans = new Gauge({
      name: 'sitesaga_orphans',
      help: 'Orphans found by the latest orphan audit, by kind (incomplete-site: live sites missing effects or stuck)',
      labelNames: ['kind'],
      registers,
    });
    this.truncated = new Gauge({
      name: 'orphan_audit_truncated',
      help: '1 when the latest audit listed some source only up to ORPHAN_AUDIT_MAX_ITEMS',
      registers,
    });
    this.lastSuccess = new Gauge({ name: 'orphan_audit_last_success_timestamp_seconds', help: 'When the latest orphan audit finished (Unix time)', registers });
    this.duration = new Gauge({ name: 'orphan_audit_duration_seconds', help: 'How long the latest orphan audit took', registers });
    this.failures = new Counter({ name: 'orphan_audit_failures_total', help: 'Periodic orphan audits that failed (a participant did not answer)', registers });
  }

  onApplicationBootstrap(): void {
    if (this.options.metricIntervalMs <= 0) return;
    const schedule = (delay: number) => {
      this.timer = setTimeout(() => {
        void this.refresh().finally(() => {
          if (this.timer) schedule(this.options.metricIntervalMs);
        });
      }, delay);
      this.timer.unref();
    };
    // The first refresh comes one interval after boot: a booting fleet is busy enough (an
    // operator's audit sets the gauges at once).
    schedule(this.options.metricIntervalMs);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Every audit's counts become the gauges' values. */
  observe(report: OrphanReport, seconds: number): void {
    for (const kind of [...ORPHAN_KINDS, 'incomplete-site']) this.orphans.set({ kind }, report.counts[kind] ?? 0);
    this.truncated.set(report.truncated.length > 0 ? 1 : 0);
    this.lastSuccess.set(Date.now() / 1000);
    this.duration.set(seconds);
  }

  /** One periodic audit; never two at once. */
  refresh(): Promise<void> {
    this.running ??= (async () => {
      const started = Date.now();
      try {
        this.observe(await this.auditor.audit(), (Date.now() - started) / 1000);
      } catch (error) {
        this.failures.inc();
        this.logger.warn({ err: error }, 'periodic orphan audit failed');
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
