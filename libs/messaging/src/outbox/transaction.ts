import { causedBy, type Envelope, type MessageDefinition } from '@sitesaga/message-kit';
import type { EntityManager } from 'typeorm';
import type { DeferredWrite } from './deferred-writes';

/**
 * One database transaction of a service: its state changes go through `manager`, the
 * messages it sends through `publish`. Both commit together or not at all.
 */
export interface Transaction {
  readonly manager: EntityManager;
  /** The message being handled, or null for work started by an HTTP request or a timer. */
  readonly cause: Envelope | null;
  /**
   * Values shared by every handler of this database transaction (all the messages of a
   * fetched batch share one), gone when it ends; filled first by the unit of work's preload.
   */
  readonly shared: Map<string, unknown>;
  /** Queues a message; it is written to the outbox in this transaction. */
  publish(envelope: Envelope): void;
  /** Builds a message caused by `cause` (same saga and correlation) and queues it. */
  reply<P>(definition: MessageDefinition<string, P>, payload: P): Envelope<P>;
  /**
   * Queues a write that runs with the COMMIT, in its round trip (see DeferredWrite).
   * Writes run in the order they were deferred, after every statement sent through
   * `manager`: a handler that defers a write must not read what it writes.
   */
  defer(write: DeferredWrite): void;
  /**
   * True when a deferred write that fails makes the unit of work run this message again
   * the usual way, instead of failing it (a transaction sent in one round trip): a handler
   * may then defer a check it would otherwise make with a statement of its own — an
   * optimistic guess that, when wrong, costs a second run and nothing else.
   */
  readonly speculative: boolean;
}

export class OutboxTransaction implements Transaction {
  readonly pending: Envelope[] = [];

  constructor(
    readonly manager: EntityManager,
    readonly cause: Envelope | null,
    readonly shared: Map<string, unknown> = new Map(),
    readonly deferred: DeferredWrite[] = [],
    readonly speculative = false,
  ) {}

  publish(envelope: Envelope): void {
    this.pending.push(envelope);
  }

  reply<P>(definition: MessageDefinition<string, P>, payload: P): Envelope<P> {
    if (!this.cause) throw new Error(`reply(${definition.type}) needs a cause; use publish() with an explicit causation`);
    const envelope = definition.create(payload, causedBy(this.cause));
    this.publish(envelope);
    return envelope;
  }

  defer(write: DeferredWrite): void {
    this.deferred.push(write);
  }
}
