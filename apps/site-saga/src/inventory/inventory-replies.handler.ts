import { Controller } from '@nestjs/common';
import { type Envelope, INVENTORY_COMMANDS, INVENTORY_REPLIES, type InventoryItem, type InventoryOwner } from '@sitesaga/contracts';
import { OnMessage, UnitOfWork } from '@sitesaga/messaging';
import { InventoryRequests } from './inventory-requests';

const OWNER_OF = new Map<string, InventoryOwner>(
  (Object.entries(INVENTORY_COMMANDS) as [InventoryOwner, (typeof INVENTORY_COMMANDS)[InventoryOwner]][]).flatMap(([owner, command]) => [
    [command.succeeded.type, owner],
    [command.failed.type, owner],
  ]),
);

/**
 * A participant's inventory page (or its failure): written to `inventory_pages` with the
 * inbox row, for whichever replica asked (it may be another one), then the asker here is woken.
 */
@Controller()
export class InventoryRepliesHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly requests: InventoryRequests,
  ) {}

  @OnMessage(...INVENTORY_REPLIES)
  async handle(event: Envelope): Promise<void> {
    const owner = OWNER_OF.get(event.type)!;
    const payload = event.payload as { requestId: string; source?: string; items?: InventoryItem[]; nextCursor?: string | null; reason?: string };
    const failed = payload.items === undefined;
    const outcome = await this.unitOfWork.run(event, (tx) =>
      tx.manager.query(
        `INSERT INTO inventory_pages (request_id, owner, source, items, next_cursor, failure) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id) DO NOTHING`,
        [
          payload.requestId,
          owner,
          payload.source ?? '',
          failed ? null : JSON.stringify(payload.items),
          payload.nextCursor ?? null,
          failed ? (payload.reason ?? 'failed') : null,
        ],
      ),
    );
    if (outcome.status === 'done') this.requests.received(payload.requestId);
  }
}
