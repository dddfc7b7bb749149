import { type Envelope, MarkSiteDeleted, type PayloadOf } from '@sitesaga/contracts';
import { BusinessRejection, HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { refusalOf } from '../domain/site-status';
import { findSiteStatus, transitionSite } from '../persistence/site-records';

/** Last step of the delete saga: DELETING → DELETED (already DELETED is a success again). */
@HandlesMessage(MarkSiteDeleted)
export class MarkSiteDeletedHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: Envelope<PayloadOf<typeof MarkSiteDeleted>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      const moved = await transitionSite(tx.manager, siteId, 'markDeleted', command.sagaId);
      if (!moved) throw new BusinessRejection(refusalOf('markDeleted', (await findSiteStatus(tx.manager, siteId))?.status ?? null));
      tx.reply(MarkSiteDeleted.succeeded, { siteId });
    });
  }
}
