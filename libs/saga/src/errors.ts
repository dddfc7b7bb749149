import { ContractViolation } from '@sitesaga/message-kit';

/** An operator action (retry, abort) that makes no sense in the saga's current state. */
export class SagaTransitionRefused extends Error {
  constructor(
    readonly sagaId: string,
    readonly action: string,
    readonly status: string,
  ) {
    super(`cannot ${action} saga ${sagaId}: it is ${status}`);
    this.name = 'SagaTransitionRefused';
  }
}

/**
 * Another transaction advanced the saga since it was loaded (the version moved on).
 * Transient: handle the message again and it is decided against the fresh state.
 * `retriable` is what libs/messaging's failure classification looks for.
 */
export class SagaConcurrencyConflict extends Error {
  readonly retriable = true;
  constructor(
    readonly sagaId: string,
    readonly expectedVersion: number,
  ) {
    super(`saga ${sagaId} changed since version ${expectedVersion} was loaded`);
    this.name = 'SagaConcurrencyConflict';
  }
}

/**
 * A speculative transaction guessed an exclusion key free (a start) or unwanted (an end)
 * and it was not: its commit failed, and the message runs again the usual way. Transient,
 * should it ever reach a transport.
 */
export class ExclusionGuessFailed extends Error {
  readonly retriable = true;
  constructor(message: string) {
    super(message);
    this.name = 'ExclusionGuessFailed';
  }
}

export class SagaNotFound extends Error {
  constructor(readonly sagaId: string) {
    super(`no saga ${sagaId}`);
    this.name = 'SagaNotFound';
  }
}

/** `start` with a saga id that is already taken. */
export class SagaAlreadyStarted extends Error {
  constructor(readonly sagaId: string) {
    super(`saga ${sagaId} already exists`);
    this.name = 'SagaAlreadyStarted';
  }
}

export class UnknownSagaType extends Error {
  constructor(readonly sagaType: string) {
    super(`no saga definition of type ${sagaType}`);
    this.name = 'UnknownSagaType';
  }
}

/** A definition that cannot run (duplicate step names, empty stages): thrown by defineSaga at load time. */
export class InvalidSagaDefinition extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSagaDefinition';
  }
}

/**
 * An event that answers no command the saga's definition sends: a routing error (a reply
 * misdelivered, or a definition that lost the step). Never dropped in silence: it is a
 * ContractViolation, so the transport sends the message to its DLQ with this reason.
 */
export class UnroutableReply extends ContractViolation {
  constructor(
    readonly sagaType: string,
    readonly eventType: string,
  ) {
    super('unroutable reply', [{ field: 'type', message: `no step of ${sagaType} sends a command that ${eventType} answers` }]);
    this.name = 'UnroutableReply';
  }
}

/**
 * The saga's type is run here, but not the version of its definition it started on
 * (docs/adr/0007): it waits, untouched, for that version to be deployed again.
 */
export class SagaVersionNotDeployed extends Error {
  constructor(
    readonly sagaType: string,
    readonly definitionVersion: number,
    readonly deployedVersions: readonly number[],
  ) {
    super(`${sagaType} version ${definitionVersion} is not deployed (deployed: ${deployedVersions.join(', ') || 'none'})`);
    this.name = 'SagaVersionNotDeployed';
  }
}
