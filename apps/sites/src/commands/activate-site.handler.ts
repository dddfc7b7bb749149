import { ActivateSite, type Envelope, type PayloadOf } from '@sitesaga/contracts';
import { BusinessRejection, HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { refusalOf, siteUrlOf } from '../domain/site-status';
import { findSiteStatus, transitionSite } from '../persistence/site-records';

/** PENDING → ACTIVE, answering with the site's address. Already ACTIVE is a success again. */
@HandlesMessage(ActivateSite)
export class ActivateSiteHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: Envelope<PayloadOf<typeof ActivateSite>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      const moved = await transitionSite(tx.manager, siteId, 'activate', command.sagaId);
      if (!moved) throw new BusinessRejection(refusalOf('activate', (await findSiteStatus(tx.manager, siteId))?.status ?? null));
      tx.reply(ActivateSite.succeeded, { siteId, url: siteUrlOf(moved.domain) });
    });
  }
}
