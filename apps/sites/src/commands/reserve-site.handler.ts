import { type Envelope, type FieldReason, type PayloadOf, ReserveSite } from '@sitesaga/contracts';
import { HandlesMessage, TransientFailure, type Transaction, UnitOfWork } from '@sitesaga/messaging';
import { repeatedReservation, takenReasons } from '../domain/site-status';
import { closeRequest, findSiteStatus, insertPendingSite, liveHolders } from '../persistence/site-records';

type ReserveSiteCommand = Envelope<PayloadOf<typeof ReserveSite>>;

/**
 * Reserves a site's name and domain: a PENDING record. Uniqueness among live sites is the
 * database's partial unique indexes, so of concurrent reservations for one name exactly
 * one wins; the others are refused for a business reason ("name taken").
 */
@HandlesMessage(ReserveSite)
export class ReserveSiteHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: ReserveSiteCommand): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { siteId, name, domain } = command.payload;

      const existing = await findSiteStatus(tx.manager, siteId);
      if (existing) return this.answerRepeated(tx, command, existing);

      const inserted = await insertPendingSite(tx.manager, {
        id: siteId,
        name,
        domain,
        tagline: command.payload.tagline ?? null,
        adminEmail: command.payload.adminEmail ?? null,
        sagaId: command.sagaId,
      });
      if (inserted) {
        tx.reply(ReserveSite.succeeded, { siteId, name, domain });
        return;
      }

      // Refused by a unique index: the same site id reserved meanwhile, or a live holder.
      const concurrent = await findSiteStatus(tx.manager, siteId);
      if (concurrent) return this.answerRepeated(tx, command, concurrent);
      const taken = takenReasons(await liveHolders(tx.manager, name, domain, siteId));
      // The holder was released between our insert and our look: try again.
      if (!taken) throw new TransientFailure(`reservation of ${name} raced with a release`);
      await this.refuse(tx, siteId, taken.reason, taken.reasons);
    });
  }

  private async answerRepeated(tx: Transaction, command: ReserveSiteCommand, existing: Parameters<typeof repeatedReservation>[0]): Promise<void> {
    const { siteId, name, domain } = command.payload;
    const outcome = repeatedReservation(existing, { name, domain });
    if (outcome.ok) tx.reply(ReserveSite.succeeded, { siteId, name, domain });
    else await this.refuse(tx, siteId, outcome.reason);
  }

  /**
   * A business refusal, answered here rather than thrown so that the client's request
   * record is closed in the same transaction (GET then shows why, and the name is free).
   */
  private async refuse(tx: Transaction, siteId: string, reason: string, reasons?: FieldReason[]): Promise<void> {
    await closeRequest(tx.manager, siteId, reason);
    tx.reply(ReserveSite.failed, { siteId, reason, class: 'business', ...(reasons ? { reasons } : {}) });
  }
}
