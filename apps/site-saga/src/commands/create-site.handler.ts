import { Controller, Inject } from '@nestjs/common';
import { CreateSite, type CreateSitePayload, type Envelope, SiteCreationRejected } from '@sitesaga/contracts';
import { classifyFailure, type InvalidMessage, LOGGER, OnInvalidMessage, OnMessage, UnitOfWork } from '@sitesaga/messaging';
import { SagaAlreadyStarted, SagaEngine } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { createSiteSaga } from '../sagas/create-site.saga';
import { SagaChanges } from '../sagas/saga-changes';
import { rejectionCausation, startFailureReason } from './rejection-causation';

type Reason = { field: string; message: string };

/**
 * `CreateSite` on site-saga.commands: starts one create-site saga per command id (the
 * inbox makes a re-sent command a no-op). Every other command gets an answer: a payload
 * that breaks the contract, a saga id already taken, or a saga that cannot be recorded
 * is answered with `SiteCreationRejected` and its reasons, not parked in the DLQ: the
 * client is waiting. A transient error (the database went away) is retried instead.
 */
@Controller()
export class CreateSiteHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly engine: SagaEngine,
    private readonly changes: SagaChanges,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @OnMessage(CreateSite)
  async handle(command: Envelope<CreateSitePayload>): Promise<void> {
    const { payload } = command;
    try {
      const outcome = await this.unitOfWork.run(command, (tx) =>
        this.engine.start(tx, createSiteSaga, {
          sagaId: command.sagaId,
          data: { siteId: command.sagaId, name: payload.name, domain: payload.domain, tagline: payload.tagline, adminEmail: payload.adminEmail },
          cause: { id: command.id, type: command.type, correlationId: command.correlationId, topic: CreateSite.topic },
        }),
      );
      if (outcome.status === 'done') this.changes.committed(command.sagaId);
    } catch (error) {
      if (error instanceof SagaAlreadyStarted) {
        // A different command naming an existing saga id: refuse it rather than restart.
        this.logger.warn({ sagaId: command.sagaId }, 'CreateSite names a saga that already exists; rejected');
        await this.rejectCommand(command, [{ field: 'sagaId', message: 'names a saga that already exists' }]);
        return;
      }
      if (classifyFailure(error) === 'transient') throw error;
      this.logger.error({ err: error, sagaId: command.sagaId }, 'CreateSite could not start its saga; rejected');
      await this.rejectCommand(command, [{ field: '(message)', message: startFailureReason(error) }]);
    }
  }

  @OnInvalidMessage(CreateSite)
  async reject(invalid: InvalidMessage): Promise<void> {
    const reasons = invalid.reasons.map((reason) => ({ field: reason.field.replace(/^payload\./, ''), message: reason.message }));
    await this.rejectCommand(invalid.envelope, reasons.length > 0 ? reasons : [{ field: '(message)', message: invalid.error }]);
  }

  private async rejectCommand(command: Envelope, reasons: Reason[]): Promise<void> {
    await this.unitOfWork.run(command, async (tx) => {
      tx.publish(SiteCreationRejected.create({ reasons }, await rejectionCausation(this.engine, tx.manager, command)));
    });
  }
}
