import { openSecret, sealSecret, type SealedSecret, type SecretsKey } from '@sitesaga/secrets';

/** What a site's database login is: sealed for bootstrap in DatabaseProvisioned. */
export interface SiteLogin {
  readonly user: string;
  readonly password: string;
}

const AT_REST = 'databases/password-at-rest';

/**
 * The only code that handles a site database password in the clear. At rest it is
 * AES-256-GCM under a key derived from SECRETS_KEY for that purpose and bound to the site
 * id (a row copied onto another site does not open); in DatabaseProvisioned it travels
 * sealed for bootstrap, bound to the site id too.
 */
export class SiteCredentials {
  constructor(private readonly key: SecretsKey) {}

  encryptForStorage(siteId: string, password: string): string {
    return sealSecret(this.key, { password }, { purpose: AT_REST, context: siteId });
  }

  decryptFromStorage(siteId: string, encrypted: string): string {
    const { password } = openSecret<{ password: string }>(this.key, encrypted, { purpose: AT_REST, context: siteId });
    return password;
  }

  sealForBootstrap(siteId: string, login: SiteLogin): SealedSecret {
    return sealSecret(this.key, { user: login.user, password: login.password }, { context: siteId });
  }
}
