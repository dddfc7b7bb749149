import { type Envelope, type PayloadOf, ProvisionDatabase } from '@sitesaga/contracts';
import { Inject } from '@nestjs/common';
import { BusinessRejection, HandlesMessage, LOGGER, UnitOfWork } from '@sitesaga/messaging';
import type { Logger } from 'pino';
import { SiteCredentials } from '../credentials/site-credentials';
import { generateDatabasePassword } from '../domain/database-password';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { findDatabaseRecord, lockSite, saveDatabaseRecord } from '../persistence/database-records';
import { SiteDatabaseServer } from '../site-server/site-database-server';

/**
 * Creates the site's login role and database on the site server, then commits the
 * record (password encrypted) and DatabaseProvisioned (credentials sealed) together.
 * CREATE DATABASE cannot run in a transaction, so the DDL runs first on its own session
 * and is idempotent: a crash anywhere before the commit re-runs it to the same end. A
 * re-sent command for a provisioned site reuses the stored password: same credentials.
 */
@HandlesMessage(ProvisionDatabase)
export class ProvisionDatabaseHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly server: SiteDatabaseServer,
    private readonly credentials: SiteCredentials,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof ProvisionDatabase>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      const names = siteDatabaseNames(siteId);
      await lockSite(tx.manager, siteId);
      const record = await findDatabaseRecord(tx.manager, siteId);
      if (record?.status === 'DROPPED') {
        // A site id is never provisioned twice: a late or replayed command must not
        // resurrect a database its saga already dropped (it would be an orphan).
        throw new BusinessRejection(`the database of site ${siteId} was dropped; it is not provisioned again`);
      }
      const password = record?.passwordEncrypted ? this.credentials.decryptFromStorage(siteId, record.passwordEncrypted) : generateDatabasePassword();
      await this.server.provision(names, password, { resetPassword: !record });
      await saveDatabaseRecord(tx.manager, {
        siteId,
        ...names,
        passwordEncrypted: record?.passwordEncrypted ?? this.credentials.encryptForStorage(siteId, password),
        status: 'PROVISIONED',
        sagaId: command.sagaId,
      });
      this.logger.debug({ siteId, databaseName: names.databaseName, reused: Boolean(record) }, 'site database provisioned');
      tx.reply(ProvisionDatabase.succeeded, {
        siteId,
        databaseName: names.databaseName,
        roleName: names.roleName,
        credentials: this.credentials.sealForBootstrap(siteId, { user: names.roleName, password }),
      });
    });
  }
}
