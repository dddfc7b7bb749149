// `@sitesaga/service`: the chassis every service runs on (see README.md).
export * from './config/env-schema';
export * from './logging/logger';
export * from './fault-injection/fault-injector';
export * from './fault-injection/faults.controller';
export * from './health.controller';
export * from './metrics.controller';
export * from './api-docs';
export * from './service.module';
export * from './run-service';
export * from './auth/operator-tokens';
export * from './inventory/site-records-page';
