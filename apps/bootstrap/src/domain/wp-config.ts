import { hkdfSync } from 'node:crypto';
import type { SecretsKey } from '@sitesaga/secrets';
import { siteUrlOf } from './site-content';

export const CONFIG_FILE_NAME = 'wp-config.php';

export interface SiteConfig {
  readonly siteId: string;
  readonly domain: string;
  readonly databaseName: string;
  readonly databaseUser: string;
  readonly databasePassword: string;
  /** host:port of the site database server. */
  readonly databaseHost: string;
}

const SALT_NAMES = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as const;

/** A PHP single-quoted string: only `\` and `'` are special in it. */
export const phpString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * WordPress' keys and salts for one site, derived from SECRETS_KEY and the site id
 * (HKDF): the same on every run, so rewriting the file never logs anyone out, and a
 * re-run writes the very same bytes.
 */
export function siteSalts(key: SecretsKey, siteId: string): Record<(typeof SALT_NAMES)[number], string> {
  const material = Buffer.from(hkdfSync('sha256', key, siteId, 'sitesaga/bootstrap/wp-salts/v1', SALT_NAMES.length * 48));
  return Object.fromEntries(SALT_NAMES.map((name, index) => [name, material.subarray(index * 48, (index + 1) * 48).toString('base64url')])) as Record<
    (typeof SALT_NAMES)[number],
    string
  >;
}

/**
 * The site's wp-config.php. It has to hold the database password for the site to work:
 * it is the site's own secret, on the site's own disk, written with mode 0600 and never
 * logged. Deterministic: the same inputs give the same bytes.
 */
export function renderWpConfig(config: SiteConfig, key: SecretsKey): string {
  const salts = siteSalts(key, config.siteId);
  const define = (name: string, value: string | boolean) => `define( ${phpString(name)}, ${typeof value === 'boolean' ? String(value) : phpString(value)} );`;
  const url = siteUrlOf(config.domain);
  return [
    '<?php',
    '/**',
    ` * Configuration of site ${config.siteId}, written by sitesaga bootstrap.`,
    ' * It holds the site database password: keep it private to the site (mode 0600).',
    ' */',
    '',
    define('DB_NAME', config.databaseName),
    define('DB_USER', config.databaseUser),
    define('DB_PASSWORD', config.databasePassword),
    define('DB_HOST', config.databaseHost),
    define('DB_CHARSET', 'utf8'),
    define('DB_COLLATE', ''),
    '',
    ...SALT_NAMES.map((name) => define(name, salts[name])),
    '',
    "$table_prefix = '';",
    '',
    define('WP_HOME', url),
    define('WP_SITEURL', url),
    define('WP_DEBUG', false),
    '',
    "if ( ! defined( 'ABSPATH' ) ) {",
    "\tdefine( 'ABSPATH', __DIR__ . '/' );",
    '}',
    "require_once ABSPATH . 'wp-settings.php';",
    '',
  ].join('\n');
}
