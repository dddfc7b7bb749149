import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { UnitOfWork } from '@sitesaga/messaging';
import { HISTORY_LIMIT } from '@sitesaga/http-contracts';
import {
  findSagaWithHistory,
  SagaConcurrencyConflict,
  SagaEngine,
  SagaNotFound,
  type SagaState,
  SagaTransitionRefused,
  SagaVersionNotDeployed,
  UnknownSagaType,
} from '@sitesaga/saga';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { HostSagaEngine } from './host-saga-engine';
import { ADMIN_LOGGER, SagaStream } from './saga-stream';
import { detailOf, type SagaDetail, type SagaSummary, summaryOf } from './saga-views';

/** History entries one detail response carries (the oldest ones; `historyTruncated` says when there are more). */
export { HISTORY_LIMIT };
/** An operator action that lost a race with a reply is decided again against the fresh state. */
const CONFLICT_ATTEMPTS = 3;

/**
 * Reads a saga for people and carries out operator actions through the engine, each in
 * one unit of work (saga row, history and outbox rows commit together).
 */
@Injectable()
export class SagaOperations {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly unitOfWork: UnitOfWork,
    private readonly stream: SagaStream,
    private readonly host: HostSagaEngine,
    @Inject(ADMIN_LOGGER) private readonly logger: Logger,
  ) {}

  private get engine(): SagaEngine {
    return this.host.get();
  }

  async detail(id: string): Promise<SagaDetail> {
    const found = await findSagaWithHistory(this.dataSource.manager, this.engine.store, id, HISTORY_LIMIT);
    if (!found) throw notFound(id);
    const state = found.state;
    return detailOf(state, this.redactedData(state), found.history, found.historyTruncated, this.stepOrder(state), this.versionDeployed(state));
  }

  /** `operator`: who asked (`admin`, or the name of an ADMIN_TOKENS token): named in the history entry's message id and in the log. */
  retry(id: string, operator = 'admin'): Promise<SagaSummary> {
    return this.act(id, 'retry', operator, (engine, tx, requestId) => engine.retry(tx, id, requestId));
  }

  abort(id: string, reason: string, operator = 'admin'): Promise<SagaSummary> {
    return this.act(id, 'abort', operator, (engine, tx, requestId) => engine.abort(tx, id, reason, requestId));
  }

  private stepOrder(state: SagaState): string[] {
    try {
      return this.engine.definitionOf(state).steps.map((step) => step.name);
    } catch {
      return []; // a type or version this replica does not run: stage and name order
    }
  }

  /** A type this replica does not run at all counts as deployed here: it is set aside on its next reply, not held. */
  private versionDeployed(state: SagaState): boolean {
    return this.engine.versionsOf(state.type).length === 0 || this.engine.isDeployed(state);
  }

  private redactedData(state: SagaState): unknown {
    try {
      return this.engine.redactedData(state);
    } catch {
      return state.data; // still passes through redactSecrets
    }
  }

  private async act(
    id: string,
    action: 'retry' | 'abort',
    operator: string,
    work: (engine: SagaEngine, tx: Parameters<SagaEngine['retry']>[0], requestId: string) => Promise<SagaState>,
  ): Promise<SagaSummary> {
    // The request id is the history entry's message id (RetryRequested, AbortRequested) and
    // the causation id of what it sends: it names the operator, so the history says who.
    const requestId = `operator:${operator}:${randomUUID()}`;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const outcome = await this.unitOfWork.run(null, (tx) => work(this.engine, tx, requestId));
        if (outcome.status !== 'done') throw new Error(`unexpected unit-of-work outcome ${outcome.status}`);
        this.logger.info({ sagaId: id, action, operator, requestId, status: outcome.result.status, sent: outcome.published.length }, `operator ${action} of saga`);
        this.stream.publish(id);
        return summaryOf(outcome.result, this.versionDeployed(outcome.result));
      } catch (error) {
        if (error instanceof SagaConcurrencyConflict && attempt < CONFLICT_ATTEMPTS) continue;
        throw httpErrorOfAction(id, action, error);
      }
    }
  }
}

const notFound = (id: string): NotFoundException => new NotFoundException({ message: `no saga ${id}`, errors: [] });

function httpErrorOfAction(id: string, action: string, error: unknown): unknown {
  if (error instanceof SagaNotFound) return notFound(id);
  if (error instanceof SagaTransitionRefused) {
    const why = action === 'abort' ? 'only a RUNNING saga can be aborted' : 'only a RUNNING, COMPENSATING or FAILED saga can be retried';
    return new ConflictException({ message: `cannot ${action} saga ${id}: it is ${error.status} (${why})`, errors: [], sagaStatus: error.status });
  }
  if (error instanceof SagaConcurrencyConflict) return new ConflictException({ message: `saga ${id} keeps changing; try again`, errors: [] });
  if (error instanceof SagaVersionNotDeployed) {
    return new ConflictException({ message: `cannot ${action} saga ${id}: it runs on ${error.message}; deploy that version again first`, errors: [] });
  }
  if (error instanceof UnknownSagaType) return new ConflictException({ message: `saga ${id} is of type ${error.sagaType}, which this orchestrator does not run`, errors: [] });
  return error;
}
