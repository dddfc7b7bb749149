import { type Envelope, type PayloadOf, ReleaseSite } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';
import { closeRequest, transitionSite } from '../persistence/site-records';

/**
 * The compensation of ReserveSite: the site becomes FAILED and its name and domain are
 * free again. Undoing what never happened succeeds: an unknown site is released already.
 * A site the delete saga owns (DELETING, DELETED) is left as it is; the release succeeds.
 */
@HandlesMessage(ReleaseSite)
export class ReleaseSiteHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: Envelope<PayloadOf<typeof ReleaseSite>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId } = command.payload;
      await transitionSite(tx.manager, siteId, 'release', command.sagaId);
      // A client request that never became a record stops showing as PENDING.
      await closeRequest(tx.manager, siteId, 'released');
      tx.reply(ReleaseSite.succeeded, { siteId });
    });
  }
}
