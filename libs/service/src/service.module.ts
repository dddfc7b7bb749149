import { type DynamicModule, Module } from '@nestjs/common';
import { FaultInjector } from './fault-injection/fault-injector';
import { FaultsController, FaultsGuard } from './fault-injection/faults.controller';
import { OperatorTokens } from './auth/operator-tokens';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';

/**
 * The chassis' HTTP side of every service: /health, /metrics and /faults (behind FAULTS_ENABLED
 * and the operator tokens, which it also provides to the service). Its controllers
 * use what the (global) MessagingModule provides; the fault injector is the one the unit of
 * work asks before every participant command (runService hands it to both).
 */
@Module({})
export class ServiceModule {
  static forRoot(faults: FaultInjector): DynamicModule {
    return {
      module: ServiceModule,
      global: true,
      controllers: [HealthController, MetricsController, FaultsController],
      providers: [{ provide: FaultInjector, useValue: faults }, { provide: OperatorTokens, useFactory: () => OperatorTokens.fromEnv() }, FaultsGuard],
      exports: [FaultInjector, OperatorTokens],
    };
  }
}
