import { type Envelope, MarkSiteDeleting, type PayloadOf } from '@sitesaga/contracts';
import { BusinessRejection, HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { refusalOf } from '../domain/site-status';
import { findSiteStatus, transitionSite } from '../persistence/site-records';

/**
 * First step of the delete saga: ACTIVE or FAILED → DELETING (already DELETING, e.g. set
 * by DELETE /sites/:id, is a success). An unknown, still pending or deleted site is refused.
 */
@HandlesMessage(MarkSiteDeleting)
export class MarkSiteDeletingHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: Envelope<PayloadOf<typeof MarkSiteDeleting>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      const moved = await transitionSite(tx.manager, siteId, 'markDeleting', command.sagaId);
      if (!moved) throw new BusinessRejection(refusalOf('markDeleting', (await findSiteStatus(tx.manager, siteId))?.status ?? null));
      tx.reply(MarkSiteDeleting.succeeded, { siteId });
    });
  }
}
