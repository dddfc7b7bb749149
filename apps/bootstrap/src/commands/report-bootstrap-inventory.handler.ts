import { type Envelope, type InventoryItem, type PayloadOf, ReportBootstrapInventory } from '@sitesaga/contracts';
import { HandlesMessage, UnitOfWork } from '@sitesaga/messaging';

/** One page of the bootstrap records, by site id, for the orchestrator's orphan audit and site view. Read-only. */
@HandlesMessage(ReportBootstrapInventory)
export class ReportBootstrapInventoryHandler {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async handle(command: Envelope<PayloadOf<typeof ReportBootstrapInventory>>): Promise<void> {
    await this.unitOfWork.handleCommand(command, async (tx) => {
      const { requestId, source, after, limit, match } = command.payload;
      // A match by name or domain alone is the sites service's: nothing here is known by them.
      const only = match ? (match.siteId ?? NO_SITE) : null;
      const rows: { site_id: string; status: string; saga_id: string | null; updated_at: Date }[] = await tx.manager.query(
        `SELECT site_id, status, saga_id, updated_at FROM bootstrap_records WHERE ($1::uuid IS NULL OR site_id > $1::uuid) AND ($3::uuid IS NULL OR site_id = $3::uuid) ORDER BY site_id LIMIT $2`,
        [uuidOrNull(after), limit + 1, only],
      );
      const page = rows.slice(0, limit);
      const items: InventoryItem[] = page.map((row) => ({
        name: row.site_id,
        siteId: row.site_id,
        status: row.status,
        sagaId: row.saga_id,
        updatedAt: row.updated_at.toISOString(),
      }));
      tx.reply(ReportBootstrapInventory.succeeded, {
        requestId,
        source,
        items,
        nextCursor: rows.length > limit ? (page[page.length - 1]?.site_id ?? null) : null,
      });
    });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Matches no record: a match that names no site id. */
const NO_SITE = '00000000-0000-0000-0000-000000000000';
const uuidOrNull = (value: string | null): string | null => (value !== null && UUID.test(value) ? value : null);
