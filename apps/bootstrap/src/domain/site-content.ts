/** What a new site starts with, besides its schema: pure data, built from BootstrapSite. */

/** Bumped when the initial content changes; a site whose marker has it is bootstrapped. */
export const BOOTSTRAP_VERSION = '1';
export const BOOTSTRAP_MARKER = 'sitesaga_bootstrap_version';

/** The admin's login; the customer sets a password through "lost password" by email. */
export const ADMIN_USER = 'admin';

export interface SiteIdentity {
  readonly siteId: string;
  readonly name: string;
  readonly domain: string;
  readonly tagline?: string;
  readonly adminEmail: string;
}

export const siteUrlOf = (domain: string): string => `https://${domain}`;

/** WordPress' core options for a fresh site. The bootstrap marker is written last, separately. */
export function siteOptions(site: SiteIdentity): [name: string, value: string][] {
  const url = siteUrlOf(site.domain);
  return [
    ['siteurl', url],
    ['home', url],
    ['blogname', site.name],
    ['blogdescription', site.tagline ?? ''],
    ['admin_email', site.adminEmail],
    ['users_can_register', '0'],
    ['default_role', 'subscriber'],
    ['start_of_week', '1'],
    ['default_category', '1'],
    ['default_comment_status', 'open'],
    ['posts_per_page', '10'],
    ['date_format', 'F j, Y'],
    ['time_format', 'g:i a'],
    ['timezone_string', 'UTC'],
    ['blog_charset', 'UTF-8'],
    ['blog_public', '1'],
    ['permalink_structure', '/%year%/%monthnum%/%day%/%postname%/'],
    ['template', 'twentytwentyfour'],
    ['stylesheet', 'twentytwentyfour'],
    ['WPLANG', ''],
    ['fresh_site', '1'],
    ['sitesaga_site_id', site.siteId],
  ];
}

/** The admin's usermeta, as WordPress writes it for an administrator. */
export const ADMIN_META: [key: string, value: string][] = [
  ['nickname', ADMIN_USER],
  ['capabilities', 'a:1:{s:13:"administrator";b:1;}'],
  ['user_level', '10'],
  ['show_admin_bar_front', 'true'],
];
