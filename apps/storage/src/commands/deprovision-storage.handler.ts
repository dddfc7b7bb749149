import { DeprovisionStorage, type Envelope, type PayloadOf } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { SiteDirectories } from '../disk/site-directories';
import { recordDeprovisioned } from '../persistence/storage-records';

/** Removes the site's directory tree: the compensation of ProvisionStorage, and a delete step. A missing tree is a success. */
@HandlesMessage(DeprovisionStorage)
export class DeprovisionStorageHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly directories: SiteDirectories,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof DeprovisionStorage>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      this.directories.directoryOf(siteId); // pure; refuses a path outside STORAGE_ROOT before anything is written
      await recordDeprovisioned(tx.manager, { siteId, sagaId: command.sagaId });
      tx.reply(DeprovisionStorage.succeeded, { siteId });
      await this.directories.remove(siteId); // last: a failure rolls the record and the reply back
    });
  }
}
