import { Controller, Inject } from '@nestjs/common';
import { DeleteSite, type Envelope } from '@sitesaga/contracts';
import { LOGGER, OnMessage, UnitOfWork } from '@sitesaga/messaging';
import { SagaAlreadyStarted, SagaEngine } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { deleteSiteSaga } from '../sagas/delete-site.saga';
import { SagaChanges } from '../sagas/saga-changes';

/** `DeleteSite` on site-saga.commands: starts one delete-site saga per command id. */
@Controller()
export class DeleteSiteHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly engine: SagaEngine,
    private readonly changes: SagaChanges,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @OnMessage(DeleteSite)
  async handle(command: Envelope<{ siteId: string }>): Promise<void> {
    try {
      const outcome = await this.unitOfWork.run(command, (tx) =>
        this.engine.start(tx, deleteSiteSaga, {
          sagaId: command.sagaId,
          data: { siteId: command.payload.siteId },
          cause: { id: command.id, type: command.type, correlationId: command.correlationId, topic: DeleteSite.topic },
        }),
      );
      if (outcome.status === 'done') this.changes.committed(command.sagaId);
    } catch (error) {
      if (!(error instanceof SagaAlreadyStarted)) throw error;
      this.logger.warn({ sagaId: command.sagaId }, 'DeleteSite names a saga that already exists; ignored');
    }
  }
}
