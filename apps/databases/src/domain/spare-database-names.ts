import { randomBytes } from 'node:crypto';

/**
 * The names of the warm pool's databases on the site database server. Every name starts
 * with the deployment's DATABASE_NAME_PREFIX (so two deployments, or two test runs, on
 * one server never touch each other's), then `template_` or `spare_`:
 *
 * - `<prefix>template_<schema version>`: the template, holding the WordPress schema;
 *   `…_build` while it is being built (renamed when complete, so the name means done);
 * - `<prefix>spare_<8 hex of the schema version>_<16 random hex>`: a spare database and
 *   its role (same name, as for sites).
 *
 * A site's name is `site_` + exactly 32 hex digits (libs/contracts). Both words hold
 * letters no hex digit is (`t`, `m`, `p`, `l`, `s`, `r`), and every spare and template
 * name holds one of them after its first five characters, so no spare or template name
 * can ever be a site's, whatever the prefix.
 */
export interface SpareDatabaseNames {
  readonly template: string;
  readonly templateBuild: string;
  /** Every spare of this deployment, of any schema version, starts with this. */
  readonly sparePrefix: string;
  /** Spares of the current schema version start with this. */
  readonly currentSparePrefix: string;
  /** Templates (and builds) of this deployment, of any version, start with this. */
  readonly templatePrefix: string;
  newSpare(): string;
  /** Whether `name` is a spare of this deployment (of any version). */
  isSpare(name: string): boolean;
  isCurrentSpare(name: string): boolean;
}

/**
 * A spare or template name of ANY deployment on the server (any prefix), as a Postgres
 * regular expression: what the pool alone governs (site-server/public-access.ts leaves
 * them to it: the pool takes PUBLIC's access as the last step of a build).
 */
export const ANY_POOL_DATABASE = '(^|_)(spare_[0-9a-f]{8}_[0-9a-f]{16}|template_[0-9a-f]{12}(_build)?)$';

/** Postgres truncates identifiers beyond 63 bytes; the longest name here (a spare) is the prefix + 31. */
export const MAX_POOL_PREFIX_BYTES = 63 - 31;

export function spareDatabaseNames(prefix: string, schemaVersion: string): SpareDatabaseNames {
  if (!/^[A-Za-z0-9_]*$/.test(prefix) || prefix.length > MAX_POOL_PREFIX_BYTES) {
    throw new Error(`the spare database pool needs DATABASE_NAME_PREFIX of at most ${MAX_POOL_PREFIX_BYTES} letters, digits or _ (got "${prefix}")`);
  }
  if (!/^[0-9a-f]{12}$/.test(schemaVersion)) throw new Error('a schema version is 12 hex digits');
  const sparePrefix = `${prefix}spare_`;
  const currentSparePrefix = `${sparePrefix}${schemaVersion.slice(0, 8)}_`;
  const escaped = sparePrefix.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`);
  const spare = new RegExp(`^${escaped}[0-9a-f]{8}_[0-9a-f]{16}$`);
  return {
    template: `${prefix}template_${schemaVersion}`,
    templateBuild: `${prefix}template_${schemaVersion}_build`,
    templatePrefix: `${prefix}template_`,
    sparePrefix,
    currentSparePrefix,
    newSpare: () => `${currentSparePrefix}${randomBytes(8).toString('hex')}`,
    isSpare: (name) => spare.test(name),
    isCurrentSpare: (name) => spare.test(name) && name.startsWith(currentSparePrefix),
  };
}
