import { AsyncLocalStorage } from 'node:async_hooks';
import type { Envelope } from '@sitesaga/message-kit';

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
}

const storage = new AsyncLocalStorage<MessageScope>();

export const scopeOf = (envelope: Envelope): MessageScope => ({
  messageId: envelope.id,
  type: envelope.type,
  sagaId: envelope.sagaId,
  correlationId: envelope.correlationId,
  causationId: envelope.causationId,
});

export const withMessageScope = <T>(envelope: Envelope, work: () => T): T => storage.run(scopeOf(envelope), work);

export const currentMessageScope = (): MessageScope | undefined => storage.getStore();
