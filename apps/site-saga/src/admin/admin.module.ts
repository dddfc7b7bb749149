import { type DynamicModule, type MiddlewareConsumer, Module, type ModuleMetadata, type NestModule } from '@nestjs/common';
import { LOGGER } from '@sitesaga/messaging';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { ADMIN_OPTIONS, AdminAuthenticator, AdminAuthGuard, type AdminOptions, adminAuthenticatorProvider, failedAttemptsProvider } from './admin-auth';
import { AdminController } from './admin.controller';
import { AdminErrorsFilter } from './admin-errors.filter';
import { AdminHttpMiddleware } from './admin-http.middleware';
import { AdminMetrics } from './admin-metrics';
import { BULK_PROVIDERS, BulkController, BulkPageController } from './bulk';
import { loadAdminPage } from './admin-page';
import { ADMIN_PAGE, AdminPageController } from './admin-page.controller';
import { SagaDefinitionsController } from './saga-definitions.controller';
import { HostSagaEngine } from './host-saga-engine';
import { SagaOperations } from './saga-operations';
import { SagaQueries } from './saga-queries';
import { SessionRevocations } from './session-revocations';
import { ADMIN_LOGGER, DEFAULT_STREAM_OPTIONS, SAGA_STREAM_OPTIONS, SagaStream, type SagaStreamOptions } from './saga-stream';
import { type InventoryOptions, inventoryOptionsFromEnv } from '../inventory/inventory-options';
import { INVENTORY_CONTROLLERS, INVENTORY_HTTP_CONTROLLERS, inventoryProviders } from '../inventory/inventory.providers';

export interface AdminModuleOptions extends AdminOptions {
  /**
   * Modules to import, e.g. one that exports `SagaEngine`. Optional: without it the engine
   * is looked up in the whole application on first use (any module may provide it).
   */
  readonly imports?: ModuleMetadata['imports'];
  /** Stream timings (tests shorten them). */
  readonly stream?: Partial<SagaStreamOptions>;
  /** The orphan audit and site view (default: ORPHAN_AUDIT_* from the environment). */
  readonly inventory?: InventoryOptions;
}

/**
 * The orchestrator's admin endpoint: API, live stream and page under /admin.
 * Needs from the host: TypeORM's DataSource, `UnitOfWork` (MessagingModule, global) and
 * `SagaEngine`; uses the messaging module's LOGGER and prom-client Registry when present.
 * Exports `SagaStream`: call `publish(sagaId)` after each committed saga change.
 */
@Module({})
export class AdminModule implements NestModule {
  static register(options: AdminModuleOptions): DynamicModule {
    new AdminAuthenticator(options.adminToken); // fails fast on an empty token
    return {
      module: AdminModule,
      imports: options.imports ?? [],
      controllers: [AdminPageController, AdminController, BulkController, BulkPageController, SagaDefinitionsController, ...INVENTORY_CONTROLLERS],
      providers: [
        {
          provide: ADMIN_OPTIONS,
          useValue: {
            adminToken: options.adminToken,
            ...(options.namedTokens ? { namedTokens: options.namedTokens } : {}),
            ...(options.failedAttempts ? { failedAttempts: options.failedAttempts } : {}),
          } satisfies AdminOptions,
        },
        { provide: SAGA_STREAM_OPTIONS, useValue: { ...DEFAULT_STREAM_OPTIONS, ...options.stream } satisfies SagaStreamOptions },
        { provide: ADMIN_PAGE, useFactory: loadAdminPage },
        {
          provide: ADMIN_LOGGER,
          useFactory: (logger?: Logger) => logger?.child({ component: 'admin' }) ?? pino({ level: 'silent' }),
          inject: [{ token: LOGGER, optional: true }],
        },
        { provide: AdminMetrics, useFactory: (registry?: Registry) => new AdminMetrics(registry ?? null), inject: [{ token: Registry, optional: true }] },
        adminAuthenticatorProvider,
        failedAttemptsProvider,
        AdminAuthGuard,
        AdminErrorsFilter,
        HostSagaEngine,
        SagaQueries,
        SessionRevocations,
        SagaStream,
        SagaOperations,
        ...BULK_PROVIDERS,
        ...inventoryProviders(options.inventory ?? inventoryOptionsFromEnv()),
      ],
      exports: [SagaStream],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AdminHttpMiddleware).forRoutes(AdminPageController, AdminController, BulkController, BulkPageController, SagaDefinitionsController, ...INVENTORY_HTTP_CONTROLLERS);
  }
}
