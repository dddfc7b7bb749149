import { SITE_LIMITS } from '@sitesaga/contracts';
import { ADMIN_META, ADMIN_USER, siteOptions, siteUrlOf } from './site-content';
import { WORDPRESS_SCHEMA } from './wordpress-schema';

/** The declared width of `table.column` in the WordPress schema (null for text). */
function widthOf(table: string, column: string): number | null {
  const body = new RegExp(`CREATE TABLE IF NOT EXISTS ${table} \\(([\\s\\S]*?)\\n\\);`).exec(WORDPRESS_SCHEMA)?.[1];
  const type = body && new RegExp(`^\\s*${column}\\s+(\\w+(?:\\(\\d+\\))?)`, 'm').exec(body)?.[1];
  if (!type) throw new Error(`no column ${table}.${column} in the WordPress schema`);
  const width = /\((\d+)\)/.exec(type);
  return width ? Number(width[1]) : null;
}

/**
 * What a CreateSite may carry must fit where bootstrap writes it: a value the contracts
 * accept and a column refuses would fail every bootstrap attempt, late, for a reason no
 * retry can change. These are the columns bootstrap fills from the command.
 */
describe('WordPress schema and the contract limits', () => {
  it('stores the longest accepted admin email and site URL in the users table', () => {
    expect(widthOf('users', 'user_email')).toBeGreaterThanOrEqual(SITE_LIMITS.adminEmail);
    expect(widthOf('users', 'user_url')).toBeGreaterThanOrEqual(siteUrlOf('d'.repeat(SITE_LIMITS.domain)).length);
    expect(widthOf('users', 'user_login')).toBeGreaterThanOrEqual(ADMIN_USER.length);
    expect(widthOf('users', 'user_nicename')).toBeGreaterThanOrEqual(ADMIN_USER.length);
    expect(widthOf('users', 'display_name')).toBeGreaterThanOrEqual(ADMIN_USER.length);
  });

  it('stores every option and admin meta of the longest accepted site', () => {
    expect(widthOf('options', 'option_value')).toBeNull();
    const options = siteOptions({
      siteId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      name: 'n'.repeat(SITE_LIMITS.name),
      domain: 'd'.repeat(SITE_LIMITS.domain),
      tagline: 't'.repeat(SITE_LIMITS.tagline),
      adminEmail: 'e'.repeat(SITE_LIMITS.adminEmail),
    });
    for (const [name] of options) expect(name.length).toBeLessThanOrEqual(widthOf('options', 'option_name')!);
    for (const [key] of ADMIN_META) expect(key.length).toBeLessThanOrEqual(widthOf('usermeta', 'meta_key')!);
  });
});
