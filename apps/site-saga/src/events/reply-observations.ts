import type { Envelope } from '@sitesaga/contracts';
import { currentMessageScope, legMs, tracer } from '@sitesaga/messaging';
import type { HandleReplyOptions, HistoryHops, SagaState, StepState } from '@sitesaga/saga';

const WAITING = new Set<StepState['state']>(['RUNNING', 'COMPENSATING']);

/**
 * What the orchestrator records of a reply besides the reply itself, at no extra cost:
 * its hop timings (with the history row the engine writes anyway) and, when tracing is
 * on, a span for each step the reply ended (from the step's start to now), child of the
 * span handling the reply. Both read the message scope the transport set; neither does
 * anything for a reply that did not come through Kafka.
 */
export function replyObservations(event: Envelope): Pick<HandleReplyOptions, 'hops' | 'onDecided'> {
  const scope = currentMessageScope();
  const received = scope?.messageId === event.id ? scope.hops : undefined;
  const hops = received
    ? (now: Date): HistoryHops => ({
        outboxMs: received.outboxMs,
        brokerMs: received.brokerMs,
        handlerMs: legMs(received.fetchedAt, now.getTime()),
        cause: received.cause && event.causationId ? { messageId: event.causationId, ...received.cause } : null,
      })
    : undefined;
  const tracing = tracer();
  const parent = scope?.traceparent;
  const onDecided = tracing
    ? (previous: SagaState, next: SagaState, now: Date): void => {
        for (const step of next.steps) {
          const before = previous.steps.find((candidate) => candidate.name === step.name);
          if (!before || !WAITING.has(before.state) || before.state === step.state) continue;
          const startedAt = step.startedAt ?? before.startedAt ?? now;
          tracing
            .start(
              `saga step ${step.name}`,
              'internal',
              parent,
              {
                'saga.id': next.id,
                'saga.type': next.type,
                'saga.step': step.name,
                'saga.step.state': step.state,
                'saga.step.attempts': step.attempts,
              },
              startedAt.getTime(),
            )
            .end(step.state === 'FAILED' ? (step.error ?? 'failed') : undefined, now.getTime());
        }
      }
    : undefined;
  return { ...(hops ? { hops } : {}), ...(onDecided ? { onDecided } : {}) };
}
