import { Counter, Gauge, Registry } from 'prom-client';

/** Admin figures on the service's /metrics (when the host provides prom-client's Registry). */
export class AdminMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly streamClients: Gauge;
  readonly streamEvents: Counter;

  constructor(registry: Registry | null) {
    // Without the host's registry the figures are still counted, just not exposed.
    const registers = [registry ?? new Registry()];
    this.requests = new Counter({ name: 'admin_requests_total', help: 'Admin endpoint requests, by route and status code', labelNames: ['route', 'status'], registers });
    this.streamClients = new Gauge({ name: 'admin_stream_clients', help: 'Connected /admin/stream clients', registers });
    this.streamEvents = new Counter({ name: 'admin_stream_events_total', help: 'Saga events written to /admin/stream clients', registers });
  }
}
