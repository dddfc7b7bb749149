/** The names of a site's database and login role on the site database server. */
export interface SiteDatabaseNames {
  readonly databaseName: string;
  readonly roleName: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Derived from the site id alone, so every retry and every compensation names the same
 * database: `site_` + the 32 hex digits of the id, lower case. 37 bytes, far below
 * Postgres' 63-byte identifier limit, so no two sites can ever be truncated onto one
 * name; and only [a-z0-9_], so nothing a client chooses reaches a DDL statement. The
 * role has the database's name (they live in different catalogs).
 */
export function siteDatabaseNames(siteId: string): SiteDatabaseNames {
  if (!UUID.test(siteId)) throw new Error('a site id is a UUID');
  const name = `site_${siteId.replace(/-/g, '').toLowerCase()}`;
  return { databaseName: name, roleName: name };
}
