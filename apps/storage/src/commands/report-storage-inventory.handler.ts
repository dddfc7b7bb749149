import { type Envelope, type PayloadOf, ReportStorageInventory } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { onlySiteOf, siteRecordsPage } from '@sitesaga/service';
import { SiteDirectories } from '../disk/site-directories';

/**
 * One page of what storage holds, for the orchestrator's orphan audit and site view:
 * `records` (storage_records, by site id) or `directories` (the entries of STORAGE_ROOT,
 * by name; the dot-named staging leftovers are the sweeper's, not sites). Read-only.
 */
@HandlesMessage(ReportStorageInventory)
export class ReportStorageInventoryHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly directories: SiteDirectories,
  ) {}

  async handle(command: Envelope<PayloadOf<typeof ReportStorageInventory>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { requestId, source, after, limit } = command.payload;
      const only = onlySiteOf(command.payload);
      if (source === 'directories') {
        const page = only !== null ? await this.directories.listOne(only) : await this.directories.list(after, limit);
        tx.reply(ReportStorageInventory.succeeded, { requestId, source, items: page.items, nextCursor: page.nextCursor });
        return;
      }
      tx.reply(ReportStorageInventory.succeeded, { requestId, source, ...(await siteRecordsPage(tx.manager, 'storage_records', command.payload)) });
    });
  }
}
