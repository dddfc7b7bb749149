import { type DynamicModule, Module } from '@nestjs/common';
import { FaultInjector } from './fault-injection/fault-injector';
import { FaultsController } from './fault-injection/faults.controller';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/**
 * The chassis' HTTP side of every service: /health, /metrics and /faults. Its controllers
 * use what the (global) MessagingModule provides; the fault injector is the one the unit of
 * work asks before every participant command (runService hands it to both).
 */
@Module({})
export class ServiceModule {
  static forRoot(faults: FaultInjector): DynamicModule {
    return {
      module: ServiceModule,
      controllers: [HealthController, MetricsController, FaultsController],
      providers: [{ provide: FaultInjector, useValue: faults }],
      exports: [FaultInjector],
    };
  }
}
