import { type Envelope, type PayloadOf, ReportBootstrapInventory } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { siteRecordsPage } from '@sitesaga/service';

/** One page of the bootstrap records, by site id, for the orchestrator's orphan audit and site view. Read-only. */
@HandlesMessage(ReportBootstrapInventory)
export class ReportBootstrapInventoryHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: Envelope<PayloadOf<typeof ReportBootstrapInventory>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { requestId, source } = command.payload;
      tx.reply(ReportBootstrapInventory.succeeded, { requestId, source, ...(await siteRecordsPage(tx.manager, 'bootstrap_records', command.payload)) });
    });
  }
}
