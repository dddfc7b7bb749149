import { DropDatabase, type Envelope, type PayloadOf } from '@sitesaga/contracts';
import { Inject } from '@nestjs/common';
import { HandlesMessage, LOGGER, UnitOfWork } from '@sitesaga/messaging';
import type { Logger } from 'pino';
import { siteDatabaseNames } from '@sitesaga/contracts';
import { lockSite, saveDatabaseRecord } from '../persistence/database-records';
import { SiteDatabaseServer } from '../site-server/site-database-server';

/**
 * The compensation of ProvisionDatabase, and the delete saga's step: ends the database's
 * sessions, drops it, then its role; the record becomes DROPPED (its password erased).
 * What never existed is dropped already: success. The DROPPED record stays as a
 * tombstone so that a late ProvisionDatabase cannot bring the database back.
 */
@HandlesMessage(DropDatabase)
export class DropDatabaseHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly server: SiteDatabaseServer,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof DropDatabase>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      const names = siteDatabaseNames(siteId);
      await lockSite(tx.manager, siteId);
      const existed = await this.server.drop(names);
      this.logger.debug({ siteId, databaseName: names.databaseName, existed }, 'site database dropped');
      await saveDatabaseRecord(tx.manager, { siteId, ...names, passwordEncrypted: null, status: 'DROPPED', sagaId: command.sagaId });
      tx.reply(DropDatabase.succeeded, { siteId });
    });
  }
}
