import { Controller, Inject } from '@nestjs/common';
import type { Envelope } from '@sitesaga/contracts';
import { classifyFailure, describeError, LOGGER, OnMessage, UnitOfWork } from '@sitesaga/messaging';
import { repliesOf, SagaEngine } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { SAGAS } from '../sagas';
import { SagaChanges } from '../sagas/saga-changes';
import { PlumbingMonitor } from '../timers/plumbing-monitor';
import { replyObservations } from './reply-observations';

/**
 * How long after the plumbing was last seen out a participant's transient failure is
 * still put down to the outage (its local retries, then Kafka's redelivery, run behind).
 */
const OUTAGE_AFTERMATH_MS = 60_000;

/** Every reply of every command our sagas send, forward or undo: read off the saga definitions, never listed by hand. */
export const REPLY_EVENTS = repliesOf(SAGAS);

/**
 * A participant's reply advances its saga: inbox row, saga state (version-checked),
 * history and the next commands commit in one transaction. A version conflict (another
 * replica advanced the saga meanwhile) or a lost connection is transient: the transport
 * retries in place. Anything else means the saga cannot be run as it stands (its data
 * breaks what a step needs, its definition changed): the saga is set aside for a person
 * (FAILED, `SagaNeedsAttention`) with the reply recorded, and the partition moves on.
 * (A saga whose type is unknown is set aside by the engine itself.) A reply that no step
 * of its saga's definition sends a command for is a routing error (UnroutableReply, a
 * contract violation): the transport sends it to the DLQ, loudly.
 */
@Controller()
export class ParticipantEventsHandler {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly engine: SagaEngine,
    private readonly changes: SagaChanges,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly plumbing: PlumbingMonitor,
  ) {}

  @OnMessage(...REPLY_EVENTS)
  async handle(event: Envelope): Promise<void> {
    try {
      // A transient failure while (or just after) the broker, consumer or database was out is
      // the outage's doing: it must delay the saga, not spend the step's attempts.
      const duringOutage = this.plumbing.outageWithin(OUTAGE_AFTERMATH_MS);
      const observations = replyObservations(event);
      const outcome = await this.unitOfWork.run(event, (tx) => this.engine.handleReply(tx, event, { duringOutage, ...observations }));
      if (outcome.status === 'done' && outcome.result) this.changes.committed(event.sagaId);
      // A participant may answer a command no saga of ours sent (a client or a test talking to it directly).
      if (outcome.status === 'done' && !outcome.result) this.logger.warn(`${event.type} names no saga of site-saga: not for us`);
    } catch (error) {
      if (classifyFailure(error) !== 'unexpected') throw error;
      this.logger.error({ err: error }, `${event.type} cannot be applied to its saga: saga set aside for a person`);
      const outcome = await this.unitOfWork.run(event, (tx) =>
        this.engine.quarantine(tx, event.sagaId, null, `${event.type}: ${describeError(error)}`, event.id),
      );
      if (outcome.status === 'done' && outcome.result) this.changes.committed(event.sagaId);
    }
  }
}
