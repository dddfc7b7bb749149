import { Controller, Inject } from '@nestjs/common';
import { CreateSite, type CreateSitePayload, type Envelope, SiteCreationRejected } from '@sitesaga/contracts';
import { type InvalidMessage, LOGGER, OnInvalidMessage, OnMessage, UnitOfWork } from '@sitesaga/messaging';
import { SagaAlreadyStarted, SagaEngine } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { createSiteSaga } from '../sagas/create-site.saga';
import { SagaChanges } from '../sagas/saga-changes';

/**
 * `CreateSite` on site-saga.commands: starts one create-site saga per command id (the
 * inbox makes a re-sent command a no-op; a saga id already taken is one too). A command
 * whose payload breaks the contract is answered with `SiteCreationRejected` and its field
 * reasons, not parked in the DLQ: the client is waiting for an answer.
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
      if (!(error instanceof SagaAlreadyStarted)) throw error;
      // A different command naming an existing saga id: refuse it rather than restart.
      this.logger.warn({ sagaId: command.sagaId }, 'CreateSite names a saga that already exists; ignored');
      await this.unitOfWork.run(command, async (tx) => {
        tx.reply(SiteCreationRejected, { reasons: [{ field: 'sagaId', message: 'names a saga that already exists' }] });
      });
    }
  }

  @OnInvalidMessage(CreateSite)
  async reject(invalid: InvalidMessage): Promise<void> {
    const reasons = invalid.reasons.map((reason) => ({ field: reason.field.replace(/^payload\./, ''), message: reason.message }));
    await this.unitOfWork.run(invalid.envelope, async (tx) => {
      tx.reply(SiteCreationRejected, { reasons: reasons.length > 0 ? reasons : [{ field: '(message)', message: invalid.error }] });
    });
  }
}
