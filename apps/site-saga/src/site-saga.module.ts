import { type DynamicModule, Module } from '@nestjs/common';
import { KAFKA, LOGGER, type ServiceInfrastructure } from '@sitesaga/messaging';
import { SagaEngine } from '@sitesaga/saga';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { AdminModule } from './admin/admin.module';
import { CreateSiteHandler } from './commands/create-site.handler';
import { DeleteSiteHandler } from './commands/delete-site.handler';
import { ParticipantEventsHandler } from './events/participant-events.handler';
import { MeasuredSagaStore } from './metrics/measured-saga-store';
import { SagaMetrics, sagaMetricsProvider } from './metrics/saga-metrics';
import { createSiteSaga } from './sagas/create-site.saga';
import { deleteSiteSaga } from './sagas/delete-site.saga';
import { sagaNeedsAttentionOnQuarantine } from './sagas/quarantine';
import { SagaChanges } from './sagas/saga-changes';
import type { SiteSagaConfig } from './site-saga-config';
import { BrokerProbe } from './timers/broker-probe';
import { DeadlineSweeper } from './timers/deadline-sweeper';

/** How often the sweeper asks the broker whether it answers, and after how long without an answer it counts as out. */
const BROKER_PROBE = { intervalMs: 1_000, downAfterMs: 5_000 } as const;

@Module({})
export class SiteSagaModule {
  static register(infrastructure: ServiceInfrastructure, config: SiteSagaConfig): DynamicModule {
    return {
      module: SiteSagaModule,
      imports: [...infrastructure.imports, AdminModule.register({ adminToken: config.adminToken })],
      controllers: [CreateSiteHandler, DeleteSiteHandler, ParticipantEventsHandler],
      providers: [
        sagaMetricsProvider([createSiteSaga.type, deleteSiteSaga.type]),
        {
          provide: SagaEngine,
          useFactory: (metrics: SagaMetrics) =>
            new SagaEngine([createSiteSaga, deleteSiteSaga], new MeasuredSagaStore(metrics, { outboxTable: 'outbox_messages' }), {
              timeScale: config.timeScale,
              onQuarantined: sagaNeedsAttentionOnQuarantine,
            }),
          inject: [SagaMetrics],
        },
        { provide: BrokerProbe, useFactory: (kafka: Kafka, logger: Logger) => new BrokerProbe(kafka, logger, BROKER_PROBE), inject: [KAFKA, LOGGER] },
        { provide: 'SAGA_TIMER_INTERVAL_MS', useValue: config.timerIntervalMs },
        SagaChanges,
        DeadlineSweeper,
      ],
    };
  }
}
