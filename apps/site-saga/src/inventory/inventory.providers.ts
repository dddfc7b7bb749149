import type { Provider, Type } from '@nestjs/common';
import { LOGGER } from '@sitesaga/messaging';
import pino, { type Logger } from 'pino';
import { INVENTORY_LOGGER, INVENTORY_OPTIONS, type InventoryOptions } from './inventory-options';
import { INVENTORY_PAGE, InventoryPageController, loadInventoryPage } from './inventory-page.controller';
import { InventoryRepliesHandler } from './inventory-replies.handler';
import { InventoryRequests } from './inventory-requests';
import { InventoryController } from './inventory.controller';
import { OrphanAuditor } from './orphan-auditor';
import { OrphanMetrics } from './orphan-metrics';
import { OrphanRepair } from './orphan-repair';
import { SiteInventory } from './site-inventory';

/**
 * What the admin module adds for the orphan audit, its repair and the site view: the
 * routes (inventory.controller.ts, the page), the Kafka handler of the participants'
 * inventory replies, and the services behind them.
 */
export const INVENTORY_CONTROLLERS: Type[] = [InventoryController, InventoryPageController, InventoryRepliesHandler];
/** The HTTP routes among them (the admin middleware's headers and counts apply to them too). */
export const INVENTORY_HTTP_CONTROLLERS: Type[] = [InventoryController, InventoryPageController];

export const inventoryProviders = (options: InventoryOptions): Provider[] => [
  { provide: INVENTORY_OPTIONS, useValue: options },
  {
    provide: INVENTORY_LOGGER,
    useFactory: (logger?: Logger) => logger?.child({ component: 'inventory' }) ?? pino({ level: 'silent' }),
    inject: [{ token: LOGGER, optional: true }],
  },
  { provide: INVENTORY_PAGE, useFactory: loadInventoryPage },
  InventoryRequests,
  OrphanAuditor,
  OrphanRepair,
  SiteInventory,
  OrphanMetrics,
];
