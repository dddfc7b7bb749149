import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AdminMetrics } from './admin-metrics';
import type { AdminSession } from './admin-auth';
import { type ChangedSaga, SagaQueries } from './saga-queries';
import { SessionRevocations } from './session-revocations';

export const SAGA_STREAM_OPTIONS = Symbol('SAGA_STREAM_OPTIONS');
export const ADMIN_LOGGER = Symbol('ADMIN_LOGGER');

export interface SagaStreamOptions {
  /** How often connected clients get the sagas changed meanwhile (by any replica). */
  readonly pollMs: number;
  readonly heartbeatMs: number;
  /**
   * Each poll looks back this far before the newest change it saw: `updated_at` is the
   * writer's clock, and a transaction can commit after a later one; versions already sent
   * are not sent again.
   */
  readonly overlapMs: number;
  readonly batchSize: number;
  /** A client that lets more than this pile up unread is dropped (it reconnects and reloads). */
  readonly maxBufferedBytes: number;
  /** Open streams this replica serves at most; one more is answered 503 with Retry-After. */
  readonly maxClients: number;
}

export const DEFAULT_STREAM_OPTIONS: SagaStreamOptions = {
  pollMs: 500,
  heartbeatMs: 15_000,
  overlapMs: 2_000,
  batchSize: 500,
  maxBufferedBytes: 1 << 20,
  maxClients: 100,
};

interface StreamClient {
  readonly response: ServerResponse;
  /** The page's session the stream was opened with; none for a bearer token. */
  readonly session: AdminSession | null;
}

/** How often open streams' sessions are checked against sign-outs made on any replica. */
const SESSION_CHECK_MS = 2_000;

/**
 * Live saga changes for `GET /admin/stream` (Server-Sent Events, `event: saga` with the
 * summary). Two sources, merged per tick so a saga is sent once per tick at most:
 * `publish(sagaId)` from this replica's orchestrator after each commit (pushed at once),
 * and a poll of `updated_at` (changes made by other replicas). Timers and queries run only
 * while at least one client is connected; a disconnect frees everything it held.
 */
@Injectable()
export class SagaStream implements OnModuleDestroy {
  private readonly clients = new Set<StreamClient>();
  private readonly pending = new Set<string>();
  /** Version last sent per saga, kept while the poll may still see the saga again. */
  private readonly sent = new Map<string, { version: number; updatedAt: Date }>();
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private sessionTimer: NodeJS.Timeout | null = null;
  private newestSeen = new Date(0);
  private lookBack = true;
  private pollDue = false;
  private ticking: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly queries: SagaQueries,
    private readonly metrics: AdminMetrics,
    @Inject(ADMIN_LOGGER) private readonly logger: Logger,
    @Inject(SAGA_STREAM_OPTIONS) private readonly options: SagaStreamOptions,
    private readonly revocations: SessionRevocations,
  ) {}

  /** Call after committing a change to saga `sagaId`: connected clients get its summary at once. Cheap, never throws. */
  publish(sagaId: string): void {
    if (this.clients.size === 0) return;
    this.pending.add(sagaId);
    this.kick();
  }

  get connectedClients(): number {
    return this.clients.size;
  }

  /** True while the poller runs (only with clients connected). */
  get polling(): boolean {
    return this.pollTimer !== null;
  }

  /** Takes over `response` as an event stream until the client goes away; 503 when the replica serves as many as it may. */
  connect(response: ServerResponse, session: AdminSession | null = null): void {
    if (this.clients.size >= this.options.maxClients) {
      // Each stream holds a socket and its share of every broadcast: their number is bounded.
      response.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '10', 'Cache-Control': 'no-store' });
      response.end(JSON.stringify({ message: `too many open streams (at most ${this.options.maxClients}); try again later`, errors: [] }));
      return;
    }
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // a proxy must not hold events back
      'X-Content-Type-Options': 'nosniff',
    });
    response.flushHeaders();
    response.write('retry: 3000\n: connected\n\n');
    const client: StreamClient = { response, session };
    this.clients.add(client);
    this.metrics.streamClients.set(this.clients.size);
    response.on('close', () => this.disconnect(client));
    if (this.clients.size === 1) this.start();
    if (response.destroyed) this.disconnect(client); // gone before 'close' could be heard
  }

  /** Ends every stream opened with this session (signed out). */
  endSession(sessionId: string): void {
    for (const client of [...this.clients]) {
      if (client.session?.id !== sessionId) continue;
      client.response.end();
      this.disconnect(client);
    }
  }

  /** Ends the streams whose session expired or was signed out on any replica. */
  private async checkSessions(): Promise<void> {
    const withSession = [...this.clients].filter((client) => client.session !== null);
    if (withSession.length === 0) return;
    const now = Date.now();
    const revoked = await this.revocations.revokedAmong([...new Set(withSession.map((client) => client.session!.id))]);
    for (const client of withSession) {
      if (!revoked.has(client.session!.id) && client.session!.expires.getTime() > now) continue;
      client.response.end();
      this.disconnect(client);
    }
  }

  onModuleDestroy(): void {
    // Open streams would keep the HTTP server from closing.
    for (const client of [...this.clients]) client.response.end();
    this.clients.clear();
    this.stop();
  }

  private disconnect(client: StreamClient): void {
    if (!this.clients.delete(client)) return;
    this.metrics.streamClients.set(this.clients.size);
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    this.newestSeen = new Date();
    this.lookBack = true;
    this.pollTimer = setInterval(() => {
      this.pollDue = true;
      this.kick();
    }, this.options.pollMs);
    this.heartbeatTimer = setInterval(() => this.broadcast(': heartbeat\n\n'), this.options.heartbeatMs);
    this.sessionTimer = setInterval(() => {
      this.checkSessions().catch((error: unknown) => this.logger.warn({ err: error }, 'admin stream: checking sessions failed'));
    }, SESSION_CHECK_MS);
    this.pollTimer.unref();
    this.heartbeatTimer.unref();
    this.sessionTimer.unref();
  }

  private stop(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.sessionTimer) clearInterval(this.sessionTimer);
    this.pollTimer = null;
    this.heartbeatTimer = null;
    this.sessionTimer = null;
    this.pending.clear();
    this.sent.clear();
    this.pollDue = false;
  }

  /** One tick at a time; whatever arrives meanwhile is handled by the next one. */
  private kick(): void {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'admin stream: reading changed sagas failed'))
      .finally(() => {
        this.ticking = null;
        if (this.again && this.clients.size > 0) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async tick(): Promise<void> {
    const ids = [...this.pending];
    this.pending.clear();
    const poll = this.pollDue;
    this.pollDue = false;
    const since = new Date(this.newestSeen.getTime() - (this.lookBack ? this.options.overlapMs : 0));
    const [polled, published] = await Promise.all([poll ? this.queries.changedSince(since, this.options.batchSize) : Promise.resolve([]), this.queries.summaries(ids)]);
    if (this.clients.size === 0) return;
    if (poll) {
      for (const change of polled) if (change.updatedAt > this.newestSeen) this.newestSeen = change.updatedAt;
      // A full batch: go on from its end, or a burst bigger than a batch would be read again and again.
      this.lookBack = polled.length < this.options.batchSize;
      const horizon = this.newestSeen.getTime() - this.options.overlapMs;
      for (const [id, entry] of this.sent) if (entry.updatedAt.getTime() < horizon) this.sent.delete(id);
    }
    const latest = new Map<string, ChangedSaga>();
    for (const change of [...polled, ...published]) {
      const known = latest.get(change.summary.id);
      if (!known || known.summary.version < change.summary.version) latest.set(change.summary.id, change);
    }
    for (const change of latest.values()) {
      const { summary } = change;
      if ((this.sent.get(summary.id)?.version ?? -1) >= summary.version) continue;
      this.sent.set(summary.id, { version: summary.version, updatedAt: change.updatedAt });
      this.broadcast(`event: saga\ndata: ${JSON.stringify(summary)}\n\n`);
      this.metrics.streamEvents.inc();
    }
  }

  private broadcast(chunk: string): void {
    for (const client of [...this.clients]) {
      const { response } = client;
      if (response.writableLength > this.options.maxBufferedBytes) {
        this.logger.warn('admin stream: dropping a client that does not read');
        response.destroy();
        this.disconnect(client);
        continue;
      }
      response.write(chunk);
    }
  }
}
