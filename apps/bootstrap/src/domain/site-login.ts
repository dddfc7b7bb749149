import { siteDatabaseNames } from '@sitesaga/contracts';
import { BusinessRejection } from '@sitesaga/messaging';
import { openSecret, type SecretsKey } from '@sitesaga/secrets';

/** The site's own database login, opened from the sealed credentials of BootstrapSite. */
export interface SiteLogin {
  readonly user: string;
  readonly password: string;
}

/**
 * A site's database and role name (the catalogue's rule, shared with apps/databases):
 * bootstrap checks the names it is given against it instead of trusting them.
 */
export const expectedSiteDatabaseName = (siteId: string): string => siteDatabaseNames(siteId).databaseName;

/**
 * Opens and checks what BootstrapSite names: the database must be the site's own, and the
 * credentials must open under SECRETS_KEY for this site (they are bound to its id) and
 * name the site's own role. Anything else is refused for a business reason before any
 * connection is made. Reasons never quote the input.
 */
export function siteLoginFor(key: SecretsKey, command: { siteId: string; databaseName: string; credentials: string }): SiteLogin {
  const expected = expectedSiteDatabaseName(command.siteId);
  if (command.databaseName !== expected) {
    throw new BusinessRejection(`databaseName is not the database of site ${command.siteId} (expected ${expected})`);
  }
  let opened: unknown;
  try {
    opened = openSecret(key, command.credentials, { context: command.siteId });
  } catch {
    throw new BusinessRejection('credentials do not open: not sealed for this site under this SECRETS_KEY, or tampered with');
  }
  const login = opened as Partial<SiteLogin> | null;
  if (typeof login?.user !== 'string' || typeof login.password !== 'string' || login.password.length === 0) {
    throw new BusinessRejection('credentials do not hold a database login');
  }
  if (login.user !== expected) throw new BusinessRejection(`credentials are not the login of site ${command.siteId}`);
  return { user: login.user, password: login.password };
}
