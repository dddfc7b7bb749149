import { type Envelope, type PayloadOf, ProvisionStorage } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { SiteDirectories } from '../disk/site-directories';
import { recordProvisioned } from '../persistence/storage-records';

/** Creates the site's directory tree under STORAGE_ROOT; an existing tree is a success again. */
@HandlesMessage(ProvisionStorage)
export class ProvisionStorageHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly directories: SiteDirectories,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof ProvisionStorage>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      const directory = this.directories.directoryOf(siteId); // pure; refuses a path outside STORAGE_ROOT
      await recordProvisioned(tx.manager, { siteId, path: directory, sagaId: command.sagaId });
      tx.reply(ProvisionStorage.succeeded, { siteId, path: directory });
      // Last: a failure rolls the record and the reply back. A crash after it and before
      // the commit redelivers the command, which finds the tree and succeeds.
      await this.directories.ensure(siteId);
    });
  }
}
