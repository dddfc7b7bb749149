import { causedBy, type Envelope, type MessageDefinition } from '@sitesaga/message-kit';
import type { EntityManager } from 'typeorm';

/**
 * One database transaction of a service: its state changes go through `manager`, the
 * messages it sends through `publish`. Both commit together or not at all.
 */
export interface Transaction {
  readonly manager: EntityManager;
  /** The message being handled, or null for work started by an HTTP request or a timer. */
  readonly cause: Envelope | null;
  /** Queues a message; it is written to the outbox in this transaction. */
  publish(envelope: Envelope): void;
  /** Builds a message caused by `cause` (same saga and correlation) and queues it. */
  reply<P>(definition: MessageDefinition<string, P>, payload: P): Envelope<P>;
}

export class OutboxTransaction implements Transaction {
  readonly pending: Envelope[] = [];

  constructor(
    readonly manager: EntityManager,
    readonly cause: Envelope | null,
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
}
