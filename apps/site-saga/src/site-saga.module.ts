import { type DynamicModule, Module } from '@nestjs/common';
import { KAFKA, KafkaEnvelopeServer, LOGGER } from '@sitesaga/messaging';
import { type ServiceInfrastructure } from '@sitesaga/service';
import { SagaEngine } from '@sitesaga/saga';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { AdminModule } from './admin/admin.module';
import { CreateSiteHandler } from './commands/create-site.handler';
import { DeleteSiteHandler } from './commands/delete-site.handler';
import { ParticipantEventsHandler } from './events/participant-events.handler';
import { MeasuredSagaStore } from './metrics/measured-saga-store';
import { SagaMetrics, sagaMetricsProvider } from './metrics/saga-metrics';
import { UndeployedVersions } from './metrics/undeployed-versions';
import { SAGAS } from './sagas';
import { sagaNeedsAttentionOnQuarantine } from './sagas/quarantine';
import { SagaChanges } from './sagas/saga-changes';
import type { SiteSagaConfig } from './site-saga-config';
import { PlumbingMonitor } from './timers/plumbing-monitor';
import { DeadlineSweeper } from './timers/deadline-sweeper';
import { SagaCountFolding } from './timers/saga-count-folding';
import { ADMIN_RECORDS_RETENTION_MS, SAGA_HISTORY_RETENTION_MS, SagaHistoryRetention } from './timers/saga-history-retention';

/**
 * How often the sweeper looks at the plumbing; after how long without an answer the broker
 * counts as out, and after how long without a fetch or heartbeat the consumer does.
 */
const PLUMBING = { intervalMs: 1_000, downAfterMs: 5_000, consumerDownAfterMs: 15_000 } as const;

@Module({})
export class SiteSagaModule {
  static register(infrastructure: ServiceInfrastructure, config: SiteSagaConfig): DynamicModule {
    return {
      module: SiteSagaModule,
      imports: [...infrastructure.imports, AdminModule.register({ adminToken: config.adminToken, namedTokens: config.namedTokens, failedAttempts: { limit: config.maxFailedAttempts, windowMs: 15 * 60_000 } })],
      controllers: [CreateSiteHandler, DeleteSiteHandler, ParticipantEventsHandler],
      providers: [
        sagaMetricsProvider(SAGAS.map((saga) => saga.type)),
        {
          provide: SagaEngine,
          useFactory: (metrics: SagaMetrics, logger: Logger) =>
            new SagaEngine(SAGAS, new MeasuredSagaStore(metrics, { outboxTable: 'outbox_messages' }), {
              timeScale: config.timeScale,
              onQuarantined: sagaNeedsAttentionOnQuarantine,
              // A saga whose definition version is not deployed here: named in the log, every time (docs/adr/0007).
              onUndeployed: (saga, what) => logger.warn({ sagaId: saga.id, sagaType: saga.type, definitionVersion: saga.definitionVersion }, `saga ${saga.id}: ${what}`),
            }),
          inject: [SagaMetrics, LOGGER],
        },
        {
          provide: PlumbingMonitor,
          useFactory: (kafka: Kafka, server: KafkaEnvelopeServer, logger: Logger) => new PlumbingMonitor(kafka, server, logger, { ...PLUMBING, fetchWaitMs: infrastructure.config.fetchMaxWaitMs }),
          inject: [KAFKA, KafkaEnvelopeServer, LOGGER],
        },
        { provide: 'SAGA_TIMER_INTERVAL_MS', useValue: config.timerIntervalMs },
        { provide: SAGA_HISTORY_RETENTION_MS, useValue: config.historyRetentionMs },
        { provide: ADMIN_RECORDS_RETENTION_MS, useValue: config.adminRecordsRetentionMs },
        SagaHistoryRetention,
        SagaCountFolding,
        SagaChanges,
        DeadlineSweeper,
        UndeployedVersions,
      ],
    };
  }
}
