/**
 * Test-only: the admin module in a small Nest app on a fresh database (messaging and saga
 * migrations), with a real UnitOfWork (no relay: outbox rows stay in the table) and a
 * SagaEngine running libs/saga's test definition. Used by admin.int-spec.ts and by
 * test/e2e/admin-page.e2e-spec.ts. Not part of the build (tsconfig.build.json excludes testing/).
 */
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { causedBy, type Envelope, type FailureClass } from '@sitesaga/contracts';
import { LOGGER, MESSAGING_MIGRATIONS, UnitOfWork } from '@sitesaga/messaging';
import { createLogger, PinoNestLogger } from '@sitesaga/service';
import { type AnyCommand, SAGA_ENTITIES, SAGA_MIGRATIONS, SagaEngine, type SagaState } from '@sitesaga/saga';
import { AdminRevokedSessions1764600000100 } from '../../persistence/migrations/1764600000100-admin-revoked-sessions';
import { BulkOperationsAndAuditLog1764720000000 } from '../../persistence/migrations/1764720000000-bulk-operations-and-audit-log';
import { AdminFailedAttempts1764750000000 } from '../../persistence/migrations/1764750000000-admin-failed-attempts';
import { AuditOrphanRepairs1764770000100 } from '../../persistence/migrations/1764770000100-audit-orphan-repairs';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { type TestSiteData, testSaga } from './test-site-saga';
import { freshDatabase } from '../../../../../test/support/fresh-database';
import { DEFAULT_INVENTORY_OPTIONS } from '../../inventory/inventory-options';
import { AdminModule } from '../admin.module';
import { SagaStream, type SagaStreamOptions } from '../saga-stream';
import { testUnitOfWork } from '../../testing/test-unit-of-work';

export { testSaga, type TestSiteData };

export interface AdminTestApp {
  readonly app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly dataSource: DataSource;
  readonly engine: SagaEngine;
  readonly unitOfWork: UnitOfWork;
  readonly stream: SagaStream;
  readonly fixtures: SagaFixtures;
  /** Every log line the app wrote (JSON), to check that no secret reaches a log. */
  readonly logs: string[];
  close(): Promise<void>;
}

export interface AdminTestAppOptions {
  readonly adminToken: string;
  /** ADMIN_TOKENS of the app: named operator tokens. */
  readonly namedTokens?: readonly { readonly name: string; readonly secret: string }[];
  readonly stream?: Partial<SagaStreamOptions>;
  /** The throttle of wrong tokens; default 100,000 in a minute (tests try wrong tokens on purpose). */
  readonly failedAttempts?: { readonly limit: number; readonly windowMs: number };
  /** Default 0.01. */
  readonly timeScale?: number;
  /** False: the host parses no bodies (the login form must still work). Default true. */
  readonly bodyParser?: boolean;
  /**
   * Where the SagaEngine provider lives: a global module (injected), or the root module,
   * invisible to AdminModule (looked up on first use). Default 'global'.
   */
  readonly engineIn?: 'global' | 'root';
  /** Another app's database (a second replica on it): this app neither creates nor drops it. */
  readonly databaseUrl?: string;
}

export async function startAdminTestApp(options: AdminTestAppOptions): Promise<AdminTestApp> {
  const database = options.databaseUrl ? { url: options.databaseUrl, drop: async () => undefined } : await freshDatabase('admin_it');
  const logs: string[] = [];
  const logger = createLogger('site-saga', {
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  // Timings at 1/100 (30 s reply timeouts become 300 ms, 1 s back-offs 10 ms); no timer runs here.
  const engine = new SagaEngine([testSaga], undefined, { timeScale: options.timeScale ?? 0.01 });
  const registry = new Registry();

  // What the lead's site-saga module and MessagingModule provide, reduced to what the admin needs.
  const infrastructure = {
    module: class AdminTestInfrastructure {},
    global: true,
    providers: [
      { provide: LOGGER, useValue: logger },
      { provide: Registry, useValue: registry },
      ...(options.engineIn === 'root' ? [] : [{ provide: SagaEngine, useValue: engine }]),
      {
        provide: UnitOfWork,
        useFactory: (dataSource: DataSource) => testUnitOfWork(dataSource, logger),
        inject: [getDataSourceToken()],
      },
    ],
    exports: [LOGGER, Registry, UnitOfWork, ...(options.engineIn === 'root' ? [] : [SagaEngine])],
  };
  const root = {
    module: class AdminTestRoot {},
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: database.url,
        entities: [...SAGA_ENTITIES],
        migrations: [...MESSAGING_MIGRATIONS, ...SAGA_MIGRATIONS, AdminRevokedSessions1764600000100, BulkOperationsAndAuditLog1764720000000, AdminFailedAttempts1764750000000, AuditOrphanRepairs1764770000100],
        migrationsRun: true,
        synchronize: false,
        logging: false,
      }),
      infrastructure,
      AdminModule.register({
        adminToken: options.adminToken,
        ...(options.namedTokens ? { namedTokens: options.namedTokens } : {}),
        // These tests try wrong tokens on purpose, many times, from one address: the throttle is tested end to end (test/e2e/access).
        failedAttempts: options.failedAttempts ?? { limit: 100_000, windowMs: 60_000 },
        ...(options.stream ? { stream: options.stream } : {}),
        // No participants answer here: no periodic orphan audit (test/e2e/inventory runs it for real).
        inventory: { ...DEFAULT_INVENTORY_OPTIONS, metricIntervalMs: 0 },
      }),
    ],
    providers: options.engineIn === 'root' ? [{ provide: SagaEngine, useValue: engine }] : [],
  };

  let app: INestApplication | null = null;
  try {
    app = await NestFactory.create(root, { logger: new PinoNestLogger(logger), bodyParser: options.bodyParser ?? true });
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database.drop();
    throw error;
  }
  const started = app;
  const { port } = started.getHttpServer().address() as AddressInfo;
  const dataSource = started.get<DataSource>(getDataSourceToken());
  const unitOfWork = started.get(UnitOfWork);
  const stream = started.get(SagaStream);
  return {
    app: started,
    url: `http://127.0.0.1:${port}`,
    dataSource,
    engine,
    unitOfWork,
    stream,
    fixtures: new SagaFixtures(engine, unitOfWork, stream, dataSource),
    logs,
    close: async () => {
      await started.close();
      await database.drop();
    },
  };
}

/**
 * Makes sagas in any state by running the engine, as the orchestrator would: each input
 * in one unit of work, replies built from the commands the saga really sent. Every change
 * is published to the stream, as the orchestrator's core does after its commits.
 */
export class SagaFixtures {
  private readonly sent = new Map<string, Envelope[]>();

  constructor(
    private readonly engine: SagaEngine,
    private readonly unitOfWork: UnitOfWork,
    private readonly stream: SagaStream,
    private readonly dataSource: DataSource,
  ) {}

  async start(name: string, extra: Partial<TestSiteData> = {}): Promise<string> {
    const sagaId = randomUUID();
    const data: TestSiteData = { siteId: sagaId, name, domain: `${name}.example.com`, adminEmail: `owner@${name}.example.com`, ...extra };
    await this.run(sagaId, (tx) => this.engine.start(tx, testSaga, { sagaId, data, cause: { id: randomUUID(), type: 'CreateSite', correlationId: randomUUID() } }));
    return sagaId;
  }

  succeed(sagaId: string, command: AnyCommand, payload: Record<string, unknown> = {}): Promise<unknown> {
    return this.reply(sagaId, command, 'succeeded', payload);
  }

  fail(sagaId: string, command: AnyCommand, failureClass: FailureClass, reason: string): Promise<unknown> {
    return this.reply(sagaId, command, 'failed', { reason, class: failureClass });
  }

  /** Acts as if the step's deadline passed (re-send after a back-off, or give up). */
  async deadline(sagaId: string, step: string): Promise<boolean> {
    const state = await this.engine.store.load(this.dataSource.manager, sagaId);
    const deadlineAt = state?.steps.find((candidate) => candidate.name === step)?.deadlineAt;
    if (!deadlineAt) throw new Error(`step ${step} of saga ${sagaId} has no deadline`);
    // Timings are scaled down: the deadline is at most a few hundred milliseconds away.
    const now = new Date(Math.max(Date.now(), deadlineAt.getTime()));
    return this.run(sagaId, (tx) => this.engine.fireDeadline(tx, sagaId, step, now));
  }

  abort(sagaId: string, reason: string): Promise<SagaState> {
    return this.run(sagaId, (tx) => this.engine.abort(tx, sagaId, reason));
  }

  /** Types of the messages the saga sent so far, in order. */
  sentBy(sagaId: string): string[] {
    return (this.sent.get(sagaId) ?? []).map((envelope) => envelope.type);
  }

  private async reply(sagaId: string, command: AnyCommand, outcome: 'succeeded' | 'failed', payload: Record<string, unknown>): Promise<unknown> {
    const cause = [...(this.sent.get(sagaId) ?? [])].reverse().find((envelope) => envelope.type === command.type);
    if (!cause) throw new Error(`saga ${sagaId} never sent ${command.type}`);
    const envelope = command[outcome].create({ siteId: sagaId, ...payload } as never, causedBy(cause));
    return this.run(sagaId, (tx) => this.engine.handleReply(tx, envelope));
  }

  private async run<T>(sagaId: string, work: (tx: Parameters<SagaEngine['start']>[0]) => Promise<T>): Promise<T> {
    const outcome = await this.unitOfWork.run(null, work);
    if (outcome.status !== 'done') throw new Error('a unit of work without a cause cannot be a duplicate');
    this.sent.set(sagaId, [...(this.sent.get(sagaId) ?? []), ...outcome.published]);
    this.stream.publish(sagaId);
    return outcome.result;
  }
}
