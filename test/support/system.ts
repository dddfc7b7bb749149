import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSite, type Envelope, type MessageDefinition, SiteCreated, SiteCreationFailed, SiteCreationRejected, Topics } from '@sitesaga/contracts';
import { Client } from 'pg';
import { recordTopics, testKafka } from './kafka-probe';
import { type ServiceProcess, startService } from './service-process';
import { createTopicNamespace, type TopicNamespace } from './topic-namespace';
import { waitFor } from './wait-for';

const CREATE_OUTCOMES = new Set<string>([SiteCreated.type, SiteCreationFailed.type, SiteCreationRejected.type]);

export const APPS = ['sites', 'storage', 'databases', 'bootstrap', 'site-saga'] as const;
export type App = (typeof APPS)[number];

export interface SystemOptions {
  /** Label in topic, database and directory names. */
  readonly label: string;
  /** Extra environment per app (FAULTS, SAGA_TIME_SCALE…). */
  readonly env?: Partial<Record<App, Record<string, string>>>;
  /**
   * The Postgres server of every service database and of the site databases (DATABASE_URL
   * and SITE_DATABASE_URL of every app). Default: process.env.DATABASE_URL, the shared one.
   */
  readonly serverUrl?: string;
  /**
   * What the probe records: `all` (default) every events topic, for tests that look at the
   * participants' events; `outcomes` only site-saga.events, for a benchmark, whose driver
   * must cost as little as a client of the system would.
   */
  readonly observe?: 'all' | 'outcomes';
}

/**
 * All five services as separate processes, the way an operator runs them, in a namespace
 * of their own: private topics, databases prefixed for this run, a temporary
 * STORAGE_ROOT. Tests drive it through Kafka and HTTP only.
 */
export class RunningSystem {
  readonly adminToken = randomBytes(24).toString('hex');
  readonly storageRoot: string;
  readonly databasePrefix: string;
  readonly services = new Map<App, ServiceProcess>();
  /** Replicas beyond the first of each app (start({ replicas })): same env and group, own port. */
  readonly replicas = new Map<App, ServiceProcess[]>();
  private namespace!: TopicNamespace;
  private probe!: Awaited<ReturnType<typeof recordTopics>>;
  readonly kafka = testKafka('e2e');
  private readonly producer = this.kafka.producer({ allowAutoTopicCreation: false });

  constructor(private readonly options: SystemOptions) {
    this.storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), `sitesaga-${options.label}-`));
    this.databasePrefix = `e2e_${options.label.replace(/-/g, '_')}_${randomBytes(3).toString('hex')}_`;
  }

  get serverUrl(): string {
    return this.options.serverUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  }

  /** Every process of an app: the first (services) and its replicas. */
  processesOf(app: App): ServiceProcess[] {
    const first = this.services.get(app);
    return [...(first ? [first] : []), ...(this.replicas.get(app) ?? [])];
  }

  envOf(app: App): Record<string, string> {
    return {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      KAFKA_TOPIC_PREFIX: this.namespace.prefix,
      DATABASE_URL: this.serverUrl,
      SITE_DATABASE_URL: this.serverUrl,
      DATABASE_NAME_PREFIX: this.databasePrefix,
      STORAGE_ROOT: this.storageRoot,
      ADMIN_TOKEN: this.adminToken,
      SECRETS_KEY: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
      LOG_LEVEL: 'info',
      HANDLER_BACKOFF_MS: '20',
      ...(this.options.env?.[app] ?? {}),
    };
  }

  /**
   * Starts the apps (all five by default) in a fresh topic namespace. With `replicas`,
   * that many processes of each app boot at once (one consumer group, one database: they
   * race for its creation and migrations); the first is `service(app)`.
   */
  async start(options: { apps?: App[]; partitions?: number; replicas?: number; readyWithin?: `${number}s` } = {}): Promise<this> {
    const apps = new Set<App>(options.apps ?? APPS);
    this.namespace = await createTopicNamespace(this.kafka, this.options.label, options.partitions);
    await this.producer.connect();
    const outcomeTopic = this.namespace.topic(Topics.siteSagaEvents);
    const observed = this.options.observe === 'outcomes' ? [] : Object.values(Topics).filter((topic) => topic.endsWith('.events'));
    this.probe = await recordTopics(
      this.kafka,
      [...new Set([Topics.siteSagaEvents, ...observed])].map((topic) => this.namespace.topic(topic)),
      (message) => {
        if (message.topic !== outcomeTopic) return;
        const envelope = JSON.parse(message.value!.toString()) as Envelope;
        if (!CREATE_OUTCOMES.has(envelope.type) || this.firstOutcomes.has(envelope.sagaId)) return;
        this.firstOutcomes.set(envelope.sagaId, envelope.type);
        this.outcomeWaiters.get(envelope.sagaId)?.(envelope.type);
        this.outcomeWaiters.delete(envelope.sagaId);
      },
    );
    // Two at a time: a cold Nest boot is CPU-bound and this machine has two cores.
    const replicas = options.replicas ?? 1;
    for (const batch of [['sites', 'storage'], ['databases', 'bootstrap'], ['site-saga']] as App[][]) {
      await Promise.all(
        batch
          .filter((app) => apps.has(app))
          .map(async (app) => {
            const started = await Promise.allSettled(
              Array.from({ length: replicas }, () => startService(app, this.envOf(app), { readyWithin: options.readyWithin })),
            );
            const ready = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
            if (ready[0]) this.services.set(app, ready[0]);
            if (ready.length > 1) this.replicas.set(app, ready.slice(1));
            const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
            if (failed) throw failed.reason;
          }),
      );
    }
    return this;
  }

  get prefix(): string {
    return this.namespace.prefix;
  }

  /** The wire name of a contract topic in this run's namespace. */
  wireTopic(topic: string): string {
    return this.namespace.topic(topic);
  }

  /** Resolves with the outcome type of a create-site saga as soon as it is seen (event-driven, no polling). */
  waitForOutcomeEvent(sagaId: string, withinMs: number): Promise<string> {
    const seen = this.firstOutcomes.get(sagaId);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.outcomeWaiters.delete(sagaId);
        reject(new Error(`no outcome for saga ${sagaId} within ${withinMs} ms`));
      }, withinMs);
      this.outcomeWaiters.set(sagaId, (type) => {
        clearTimeout(timer);
        resolve(type);
      });
    });
  }

  private readonly outcomeWaiters = new Map<string, (type: string) => void>();
  /**
   * The first create-site outcome seen per saga, indexed as it arrives: a wait looks it up
   * instead of parsing every recorded event again (which made a long benchmark's driver
   * cost grow with the number of sagas behind it).
   */
  private readonly firstOutcomes = new Map<string, string>();

  /** `Authorization` of an operator: every site on the sites API, and /faults. */
  get operatorHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.adminToken}` };
  }

  /** GET of a path of the sites API as an operator (who sees every site); the parsed body when 2xx, else undefined. */
  async sitesApi<T = unknown>(pathname: string): Promise<T | undefined> {
    const response = await fetch(`${this.service('sites').url}${pathname}`, { headers: this.operatorHeaders });
    return response.ok ? ((await response.json()) as T) : undefined;
  }

  service(app: App): ServiceProcess {
    const service = this.services.get(app);
    if (!service) throw new Error(`${app} is not running`);
    return service;
  }

  /** Restarts an app (after a kill), on the same port, with optional env overrides. */
  async restart(app: App, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const previous = this.services.get(app);
    if (previous) await previous.stop('SIGTERM', '20s');
    const next = await startService(app, { ...this.envOf(app), ...env }, { port: previous?.port });
    this.services.set(app, next);
    return next;
  }

  /** Site ids this run may have provisioned: their databases and roles are dropped at stop. */
  private readonly sites = new Set<string>();

  /** Sends a client command to site-saga.commands, keyed by its saga id. */
  async send(envelope: Envelope, headers?: Record<string, string>): Promise<void> {
    if (envelope.type === 'CreateSite') this.sites.add(envelope.sagaId);
    await this.producer.send({
      topic: this.namespace.topic(Topics.siteSagaCommands),
      messages: [{ key: envelope.sagaId, value: JSON.stringify(envelope), ...(headers ? { headers } : {}) }],
    });
  }

  async sendRaw(topic: string, value: string, key = randomUUID()): Promise<void> {
    await this.producer.send({ topic: this.namespace.topic(topic), messages: [{ key, value }] });
  }

  /** Sends `count` CreateSite commands at once (names `<label>-<i>-…`); returns their saga ids (= site ids). */
  async createSites(count: number, label: string): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await Promise.all(
      ids.map((siteId, index) => {
        const name = `${label}-${index}-${siteId.slice(0, 6)}`;
        return this.send(
          CreateSite.create(
            { name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' },
            { sagaId: siteId, correlationId: siteId, causationId: null },
          ),
        );
      }),
    );
    return ids;
  }

  /** Every create-site outcome event seen for a saga (more than one would be a duplicate outcome). */
  outcomesOf(sagaId: string): Envelope[] {
    return this.events(Topics.siteSagaEvents, { sagaId }).filter((envelope) => CREATE_OUTCOMES.has(envelope.type));
  }

  /** Envelopes seen on an events topic (contract name), optionally of one type and saga. */
  events(topic: string, filter: { type?: string; sagaId?: string } = {}): Envelope[] {
    const wire = this.namespace.topic(topic);
    return this.probe.messages
      .filter((message) => message.topic === wire)
      .map((message) => JSON.parse(message.value!.toString()) as Envelope)
      .filter((envelope) => (!filter.type || envelope.type === filter.type) && (!filter.sagaId || envelope.sagaId === filter.sagaId));
  }

  outcome(sagaId: string, definitions: readonly MessageDefinition[]): Envelope | undefined {
    const types = new Set(definitions.map((definition) => definition.type));
    return this.events(Topics.siteSagaEvents, { sagaId }).find((envelope) => types.has(envelope.type));
  }

  async waitForOutcome(sagaId: string, definitions: readonly MessageDefinition[], within: `${number}s` = '60s'): Promise<Envelope> {
    return waitFor(() => this.outcome(sagaId, definitions), { within, what: `${definitions.map((d) => d.type).join(' or ')} for saga ${sagaId}` });
  }

  /** Replaces the fault rules of a running service (PUT /faults). */
  async setFaults(app: App, rules: { command: string; mode: 'fail' | 'transient' | 'stall' | 'crash'; rate?: number; match?: string }[]): Promise<void> {
    const response = await fetch(`${this.service(app).url}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...this.operatorHeaders },
      body: JSON.stringify({ rules: rules.map((rule) => ({ rate: 1, ...rule })) }),
    });
    if (!response.ok) throw new Error(`PUT /faults on ${app}: ${response.status} ${await response.text()}`);
  }

  async admin<T = unknown>(pathname: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.service('site-saga').url}${pathname}`, {
      ...init,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Query the server that hosts site databases. */
  async query<R = Record<string, unknown>>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<R[]> {
    const url = new URL(this.serverUrl);
    url.pathname = `/${database}`;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as R[];
    } finally {
      await client.end();
    }
  }

  /** The service's own database (e.g. `sites`). */
  serviceDatabase(app: App): string {
    return `${this.databasePrefix}${app.replace(/-/g, '_')}`;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.services.values(), ...[...this.replicas.values()].flat()].map((service) => service.stop('SIGTERM', '15s')));
    await this.probe?.stop().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    await this.namespace?.drop();
    try {
      const databases = await this.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${this.databasePrefix}%`]);
      // Every DROP DATABASE forces a checkpoint; several at once share one, so a run that
      // made a hundred sites is cleaned up in seconds, not minutes, on a loaded machine.
      const drops = [
        ...databases.map(({ datname }) => [`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`]),
        ...[...this.sites].map((siteId) => {
          const name = `site_${siteId.replace(/-/g, '')}`;
          return [`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, `DROP ROLE IF EXISTS "${name}"`];
        }),
      ];
      await inParallel(drops, 8, async (statements) => {
        for (const statement of statements) await this.query(statement);
      });
      // The databases service's warm pool (spare databases and their roles, its template) carries
      // the prefix too. A spare's CREATE DATABASE cut off by the service's stop still completes
      // on the server, after the listing above: again until nothing of the prefix is left.
      await waitFor(
        async () => {
          const left = await this.query<{ kind: string; name: string }>(
            `SELECT 'database' AS kind, datname AS name FROM pg_database WHERE left(datname, length($1)) = $1
             UNION ALL SELECT 'role', rolname FROM pg_roles WHERE left(rolname, length($1)) = $1 ORDER BY 1`,
            [this.databasePrefix],
          );
          for (const { kind, name } of left) {
            await this.query(kind === 'database' ? `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)` : `DROP ROLE IF EXISTS "${name}"`).catch(() => undefined);
          }
          return left.length === 0;
        },
        { within: '30s', what: `nothing named ${this.databasePrefix}… left on the server` },
      );
    } finally {
      // Even when the server is gone (a test that stopped it failed): the directory goes.
      fs.rmSync(this.storageRoot, { recursive: true, force: true });
    }
  }
}

/** Runs `work` on every item, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
