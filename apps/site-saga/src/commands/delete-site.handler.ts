import { Controller, Inject } from '@nestjs/common';
import { DeleteSite, type Envelope, SiteDeletionRejected } from '@sitesaga/contracts';
import { classifyFailure, LOGGER, OnMessage, UnitOfWork } from '@sitesaga/messaging';
import { SagaAlreadyStarted, SagaEngine } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { deleteSiteSaga } from '../sagas/delete-site.saga';
import { SagaChanges } from '../sagas/saga-changes';
import { rejectionCausation, startFailureReason } from './rejection-causation';

/**
 * `DeleteSite` on site-saga.commands: starts one delete-site saga per command id. While
 * another saga of the site runs (its CreateSite), the delete is recorded waiting for it and
 * begins when that one ends (the site's exclusion key, docs/adr/0008). A
 * command that cannot start one (its saga id is taken, the saga cannot be recorded) is
 * answered with `SiteDeletionRejected`; a transient error is retried instead.
 */
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
      let reason = { field: 'sagaId', message: 'names a saga that already exists' };
      if (error instanceof SagaAlreadyStarted) {
        this.logger.warn({ sagaId: command.sagaId }, 'DeleteSite names a saga that already exists; rejected');
      } else {
        if (classifyFailure(error) === 'transient') throw error;
        this.logger.error({ err: error, sagaId: command.sagaId }, 'DeleteSite could not start its saga; rejected');
        reason = { field: '(message)', message: startFailureReason(error) };
      }
      await this.unitOfWork.run(command, async (tx) => {
        tx.publish(
          SiteDeletionRejected.create({ siteId: command.payload.siteId, reasons: [reason] }, await rejectionCausation(this.engine, tx.manager, command)),
        );
      });
    }
  }
}
