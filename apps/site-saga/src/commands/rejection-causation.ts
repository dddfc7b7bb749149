import { type Causation, causedBy, type Envelope, sagaIdFor } from '@sitesaga/contracts';
import type { SagaEngine } from '@sitesaga/saga';
import type { EntityManager } from 'typeorm';

/**
 * Whom a rejection of a client command is addressed to. Anyone may send a command naming
 * any sagaId, so a rejection must never speak for a saga that exists: it would read as
 * that saga's outcome ("rejected") to everyone following it. Such a rejection gets a saga
 * id of its own, derived from the command's id, and the command's id as correlation and
 * causation: the sender correlates by `causationId`. A command whose sagaId names no saga
 * keeps it (and its correlationId), so a sender that follows its own sagaId still hears.
 */
export async function rejectionCausation(engine: SagaEngine, manager: EntityManager, command: Envelope): Promise<Causation> {
  if ((await engine.store.load(manager, command.sagaId)) === null) return causedBy(command);
  return { sagaId: sagaIdFor(command.id), correlationId: command.id, causationId: command.id };
}

/** A reason for a person, from an error that stopped a command: bounded, one line. */
export const startFailureReason = (error: unknown): string =>
  `could not be started: ${error instanceof Error ? error.message : String(error)}`.replace(/\s+/g, ' ').slice(0, 500);
