import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Catalogue } from '@sitesaga/message-kit';
import type { Logger } from 'pino';
import { DataSource, type DataSourceOptions, type MixedList } from 'typeorm';
import {
  databaseUrlFor,
  ensureDatabaseExists,
  KafkaEnvelopeServer,
  MESSAGING_MIGRATIONS,
  messagingConfigFromEnv,
  type MessagingConfig,
  MessagingModule,
  type Preload,
  runMigrationsExclusively,
  startTracing,
} from '@sitesaga/messaging';
import { type ServiceEnvSchema, validateEnvironment } from './config/env-schema';
import { limitHeapGrowth } from './heap';
import { createLogger, PinoNestLogger } from './logging/logger';
import { FaultInjector } from './fault-injection/fault-injector';
import { ServiceModule } from './service.module';

/** What a service's module receives: parsed configuration and the infrastructure imports. */
export interface ServiceInfrastructure {
  readonly config: MessagingConfig;
  readonly logger: Logger;
  readonly databaseUrl: string;
  readonly port: number;
  /** TypeORM (migrations run at boot, never synchronize) and the messaging module. */
  readonly imports: DynamicModule[];
}

export interface ServiceSpec {
  readonly name: string;
  readonly defaultPort: number;
  /** Every environment variable the service reads (SERVICE_ENV extended with its own): checked before anything starts. */
  readonly env: ServiceEnvSchema;
  /** The messages the service speaks (e.g. the site catalogue), handed to the messaging module. */
  readonly catalogue: Catalogue;
  readonly topics: readonly string[];
  /** Messages of a fetched batch handled in one unit of work by default (MESSAGING_BATCH_SIZE overrides; see MessagingConfig). */
  readonly batchSize?: number;
  /** What each unit of work reads with its BEGIN for the handlers (see Preload in libs/messaging). */
  readonly preload?: Preload;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly entities: MixedList<Function | string>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly migrations: Function[];
  readonly module: (infrastructure: ServiceInfrastructure) => DynamicModule;
  /** Extra setup on the Nest app before it listens (validation pipes, body limits…). */
  readonly configure?: (app: INestApplication, infrastructure: ServiceInfrastructure) => void | Promise<void>;
}

const port = (value: string | undefined, fallback: number): number => {
  const parsed = value ? Number(value) : fallback;
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new Error(`PORT must be a port number, got "${value}"`);
  return parsed;
};

/** Builds the infrastructure of a service from the environment (parsed once, fails fast). */
export function serviceInfrastructure(spec: ServiceSpec, env: NodeJS.ProcessEnv = process.env): ServiceInfrastructure {
  const config = messagingConfigFromEnv(spec.name, env, { batchSize: spec.batchSize });
  const logger = createLogger(spec.name);
  const databaseUrl = databaseUrlFor(spec.name, env);
  const faults = FaultInjector.fromEnv(env);
  return {
    config,
    logger,
    databaseUrl,
    port: port(env.PORT, spec.defaultPort),
    imports: [
      TypeOrmModule.forRootAsync({
        useFactory: () => ({
          type: 'postgres',
          url: databaseUrl,
          entities: spec.entities,
          migrations: [...MESSAGING_MIGRATIONS, ...spec.migrations],
          // Run below, under a lock: replicas booting at once must not migrate together.
          migrationsRun: false,
          migrationsTransactionMode: 'each',
          synchronize: false,
          logging: ['error'],
          // A server that is down fails a checkout after 10 s (a transient error, retried)
          // instead of queueing the caller forever.
          extra: { max: Number(env.DATABASE_POOL_SIZE ?? 10), application_name: spec.name, connectionTimeoutMillis: 10_000 },
        }),
        dataSourceFactory: async (options?: DataSourceOptions) => {
          const dataSource = await new DataSource(options!).initialize();
          try {
            await runMigrationsExclusively(dataSource, databaseUrl, logger);
          } catch (error) {
            // Nest retries the factory: do not leave this pool behind.
            await dataSource.destroy().catch(() => undefined);
            throw error;
          }
          return dataSource;
        },
      }),
      // Fault injection, for every command handler at once (off unless FAULTS or PUT /faults say otherwise).
      MessagingModule.forRoot({ config, logger, databaseUrl, catalogue: spec.catalogue, topics: spec.topics, intercept: (command) => faults.apply(command), preload: spec.preload }),
      ServiceModule.forRoot(faults),
    ],
  };
}

/**
 * Boots one service: its database (created when missing, migrated), its HTTP server
 * (health, metrics, own endpoints) and its Kafka consumer. SIGTERM stops consuming,
 * lets handlers finish and commit, flushes the outbox, then exits.
 */
export async function runService(spec: ServiceSpec): Promise<INestApplication> {
  // Every bad variable at once (InvalidEnvironment lists them), before a connection is made.
  validateEnvironment(spec.env, process.env);
  limitHeapGrowth();
  const infrastructure = serviceInfrastructure(spec);
  const { logger } = infrastructure;
  // OpenTelemetry: loaded only when OTEL_EXPORTER_OTLP_ENDPOINT asks for it (off by default).
  await startTracing(spec.name, logger);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  // Every connection has its own 'error' listener and reconnect path; this is the last
  // resort for one that does not. A process that goes on after an exception nobody handled
  // runs in a state nobody reasoned about, so it exits — loudly, in the log, with a
  // non-zero code that a supervisor (Kubernetes, compose, scripts/start-local.ts) sees
  // and answers with a restart.
  process.on('uncaughtException', (error, origin) => {
    logger.fatal({ err: error, origin }, `${spec.name} is exiting after an uncaught exception`);
    process.exit(70); // EX_SOFTWARE
  });
  await ensureDatabaseExists(infrastructure.databaseUrl);
  const app = await NestFactory.create(spec.module(infrastructure), { logger: new PinoNestLogger(logger), bufferLogs: true });
  app.enableShutdownHooks();
  await spec.configure?.(app, infrastructure);
  app.connectMicroservice({ strategy: app.get(KafkaEnvelopeServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.listen(infrastructure.port);
  logger.info({ port: infrastructure.port }, `${spec.name} ready`);
  return app;
}
