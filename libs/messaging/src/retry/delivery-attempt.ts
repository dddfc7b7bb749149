import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which in-place attempt at handling a consumed message is running: the transport
 * (KafkaEnvelopeServer.dispatch) is the one layer that retries a handler, and it says so
 * here, carried through every await of the handler. A participant command's unit of work
 * (UnitOfWork.handleCommand) reads it to decide what a transient failure becomes: an error
 * handed back to the transport for another attempt, or — on the last attempt — the
 * command's failure event with class `transient`. Nothing below the transport loops.
 */
export interface DeliveryAttempt {
  /** The message this attempt handles (a handler's own nested work never borrows it). */
  readonly messageId: string;
  /** 1-based. */
  readonly attempt: number;
  /** True when the transport will not try again after this attempt. */
  readonly last: boolean;
  /**
   * Set by a participant command whose work failed inside a batch unit of work: that try
   * counts as the message's first attempt when the batch falls back to one-by-one handling.
   */
  spent: boolean;
}

const storage = new AsyncLocalStorage<DeliveryAttempt>();

export const withDeliveryAttempt = <T>(attempt: DeliveryAttempt, work: () => T): T => storage.run(attempt, work);

/** The transport's attempt at handling the message `messageId`, or undefined when no transport runs it (a direct call: one, last attempt). */
export const deliveryAttemptOf = (messageId: string): DeliveryAttempt | undefined => {
  const attempt = storage.getStore();
  return attempt?.messageId === messageId ? attempt : undefined;
};
