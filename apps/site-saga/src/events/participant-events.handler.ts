import { Controller } from '@nestjs/common';
import {
  ActivateSite,
  BootstrapSite,
  type CommandDefinition,
  DeprovisionStorage,
  DropDatabase,
  type Envelope,
  MarkSiteDeleted,
  MarkSiteDeleting,
  ProvisionDatabase,
  ProvisionStorage,
  ReleaseSite,
  ReserveSite,
} from '@sitesaga/contracts';
import { OnMessage, UnitOfWork } from '@sitesaga/messaging';
import { SagaEngine } from '@sitesaga/saga';
import { SagaChanges } from '../sagas/saga-changes';

/** The participant commands our sagas send (forward steps and compensations). */
const SENT_COMMANDS: readonly CommandDefinition[] = [
  ReserveSite,
  ReleaseSite,
  ActivateSite,
  MarkSiteDeleting,
  MarkSiteDeleted,
  ProvisionStorage,
  DeprovisionStorage,
  ProvisionDatabase,
  DropDatabase,
  BootstrapSite,
];

export const REPLY_EVENTS = SENT_COMMANDS.flatMap((command) => [command.succeeded, command.failed]);

/**
 * A participant's reply advances its saga: inbox row, saga state (version-checked),
 * history and the next commands commit in one transaction. A version conflict (another
 * replica advanced the saga meanwhile) is transient: the transport retries in place.
 */
@Controller()
export class ParticipantEventsHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly engine: SagaEngine,
    private readonly changes: SagaChanges,
  ) {}

  @OnMessage(...REPLY_EVENTS)
  async handle(event: Envelope): Promise<void> {
    const outcome = await this.unitOfWork.run(event, (tx) => this.engine.handleReply(tx, event));
    if (outcome.status === 'done' && outcome.result) this.changes.committed(event.sagaId);
  }
}
