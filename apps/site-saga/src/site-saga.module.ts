import { type DynamicModule, Module } from '@nestjs/common';
import type { ServiceInfrastructure } from '@sitesaga/messaging';
import { SagaEngine } from '@sitesaga/saga';
import { AdminModule } from './admin/admin.module';
import { CreateSiteHandler } from './commands/create-site.handler';
import { DeleteSiteHandler } from './commands/delete-site.handler';
import { ParticipantEventsHandler } from './events/participant-events.handler';
import { MeasuredSagaStore } from './metrics/measured-saga-store';
import { SagaMetrics, sagaMetricsProvider } from './metrics/saga-metrics';
import { createSiteSaga } from './sagas/create-site.saga';
import { deleteSiteSaga } from './sagas/delete-site.saga';
import { SagaChanges } from './sagas/saga-changes';
import type { SiteSagaConfig } from './site-saga-config';
import { DeadlineSweeper } from './timers/deadline-sweeper';

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
          useFactory: (metrics: SagaMetrics) => new SagaEngine([createSiteSaga, deleteSiteSaga], new MeasuredSagaStore(metrics), { timeScale: config.timeScale }),
          inject: [SagaMetrics],
        },
        { provide: 'SAGA_TIMER_INTERVAL_MS', useValue: config.timerIntervalMs },
        SagaChanges,
        DeadlineSweeper,
      ],
    };
  }
}
