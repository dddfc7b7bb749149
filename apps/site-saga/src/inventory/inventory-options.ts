/** How the orphan audit and the site view gather the participants' inventories. */
export interface InventoryOptions {
  /** Items per inventory page (at most INVENTORY_PAGE_MAX). */
  readonly pageSize: number;
  /** Most items read from one source in one audit: past it the audit says `truncated`. */
  readonly maxItemsPerSource: number;
  /** How long a participant has to answer one page. */
  readonly replyTimeoutMs: number;
  /** How often the orphan metric is refreshed (0: never). */
  readonly metricIntervalMs: number;
}

export const INVENTORY_OPTIONS = Symbol('INVENTORY_OPTIONS');
export const INVENTORY_LOGGER = Symbol('INVENTORY_LOGGER');

export const DEFAULT_INVENTORY_OPTIONS: InventoryOptions = { pageSize: 200, maxItemsPerSource: 10_000, replyTimeoutMs: 15_000, metricIntervalMs: 300_000 };

const wholeNumber = (name: string, value: string | undefined, fallback: number, min: number): number => {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new Error(`${name} must be a whole number of at least ${min}, got "${value}"`);
  return parsed;
};

/** ORPHAN_AUDIT_* variables (README, "Configuration"). */
export function inventoryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): InventoryOptions {
  return {
    pageSize: Math.min(200, wholeNumber('ORPHAN_AUDIT_PAGE_SIZE', env.ORPHAN_AUDIT_PAGE_SIZE, DEFAULT_INVENTORY_OPTIONS.pageSize, 1)),
    maxItemsPerSource: wholeNumber('ORPHAN_AUDIT_MAX_ITEMS', env.ORPHAN_AUDIT_MAX_ITEMS, DEFAULT_INVENTORY_OPTIONS.maxItemsPerSource, 1),
    replyTimeoutMs: wholeNumber('ORPHAN_AUDIT_REPLY_TIMEOUT_MS', env.ORPHAN_AUDIT_REPLY_TIMEOUT_MS, DEFAULT_INVENTORY_OPTIONS.replyTimeoutMs, 100),
    metricIntervalMs: wholeNumber('ORPHAN_AUDIT_INTERVAL_MS', env.ORPHAN_AUDIT_INTERVAL_MS, DEFAULT_INVENTORY_OPTIONS.metricIntervalMs, 0),
  };
}
