import { Inject } from '@nestjs/common';
import { BootstrapSite, type Envelope, type PayloadOf } from '@sitesaga/contracts';
import { HandlesMessage, LOGGER, UnitOfWork } from '@sitesaga/messaging';
import type { Logger } from 'pino';
import { BOOTSTRAP_CONFIG, type BootstrapConfig } from '../config/bootstrap-config';
import { BOOTSTRAP_VERSION } from '../domain/site-content';
import { siteLoginFor } from '../domain/site-login';
import { renderWpConfig } from '../domain/wp-config';
import { lockSite, saveBootstrapRecord } from '../persistence/bootstrap-records';
import { SiteSchemaInstaller } from '../site-database/site-schema-installer';
import { SiteConfigFiles } from '../storage/site-config-files';

/**
 * Installs the site's application: schema, options and admin user in the site's database
 * (as the site's own role), then its config file in its storage directory, then the
 * record and SiteBootstrapped in one commit. Every effect is repeatable (a marker makes
 * the schema step a no-op once done; the file is rewritten with the same bytes), so a
 * crash anywhere re-runs to the same end. No compensation of its own: it lives inside
 * the site's storage and database and is undone with them.
 */
@HandlesMessage(BootstrapSite)
export class BootstrapSiteHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly installer: SiteSchemaInstaller,
    private readonly files: SiteConfigFiles,
    @Inject(BOOTSTRAP_CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof BootstrapSite>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const site = command.payload;
      // Refused before anything is touched: another site's database, credentials that do not open.
      const login = siteLoginFor(this.config.secretsKey, site);
      // The bcrypt hash (tens of ms of CPU, on libuv's thread pool) is usually one made ahead;
      // when none is ready it starts first, and the connect and reads run alongside it.
      // Their rejections are taken here and surface where they are awaited (no unhandled
      // rejection meanwhile).
      const adminHash = this.installer.hashAdminPassword();
      adminHash.catch(() => undefined);
      const opening = this.installer.open(site.databaseName, login);
      opening.catch(() => undefined);
      const server = new URL(this.config.siteDatabaseUrl);
      const wpConfig = renderWpConfig(
        {
          siteId: site.siteId,
          domain: site.domain,
          databaseName: site.databaseName,
          databaseUser: login.user,
          databasePassword: login.password,
          databaseHost: `${server.hostname}:${server.port || 5432}`,
        },
        this.config.secretsKey,
      );
      let installedAs: { adminUser: string; installed: boolean };
      try {
        // Storage may lag (transient, retried); the site lock serializes replicas on one site.
        await Promise.all([this.files.directoryOf(site.siteId), lockSite(tx.manager, site.siteId)]);
        // wp-config.json (two fsyncs and a rename) is written while the schema is seeded: it
        // depends on neither. Both are repeatable, so a failure of either retries both; both
        // have ended before the handler does.
        const [installing, writing] = await Promise.allSettled([
          opening.then((database) => this.installer.install(site, database, adminHash)),
          this.files.write(site.siteId, wpConfig),
        ]);
        if (installing.status === 'rejected') throw installing.reason;
        if (writing.status === 'rejected') throw writing.reason;
        installedAs = installing.value;
      } finally {
        void opening.then((database) => database.close(), () => undefined);
      }
      const { adminUser, installed } = installedAs;
      await saveBootstrapRecord(tx.manager, { siteId: site.siteId, status: 'BOOTSTRAPPED', adminUser, bootstrapVersion: BOOTSTRAP_VERSION, sagaId: command.sagaId });
      this.logger.debug({ siteId: site.siteId, installed }, 'site bootstrapped');
      tx.reply(BootstrapSite.succeeded, { siteId: site.siteId, adminUser });
    });
  }
}
