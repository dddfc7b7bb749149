import { AsyncLocalStorage } from 'node:async_hooks';
import type { Envelope } from '@sitesaga/message-kit';
import type { ReceivedHops } from './observability/hops';

/**
 * The message being handled, carried implicitly through every await of its handler so
 * that log lines and the messages it causes name their saga, correlation and cause
 * without anyone passing them by hand.
 */
export interface MessageScope {
  readonly messageId: string;
  readonly type: string;
  readonly sagaId: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  /** Its hop timings as read at fetch (Kafka messages only): the messages it causes carry them on. */
  readonly hops?: ReceivedHops;
  /** The traceparent of the span handling it, when tracing is on: the messages it causes are its children. */
  readonly traceparent?: string;
}

const storage = new AsyncLocalStorage<MessageScope>();

export const scopeOf = (envelope: Envelope, hops?: ReceivedHops, traceparent?: string): MessageScope => ({
  messageId: envelope.id,
  type: envelope.type,
  sagaId: envelope.sagaId,
  correlationId: envelope.correlationId,
  causationId: envelope.causationId,
  ...(hops ? { hops } : {}),
  ...(traceparent ? { traceparent } : {}),
});

export const withMessageScope = <T>(envelope: Envelope, work: () => T, hops?: ReceivedHops, traceparent?: string): T =>
  storage.run(scopeOf(envelope, hops, traceparent), work);

export const currentMessageScope = (): MessageScope | undefined => storage.getStore();
