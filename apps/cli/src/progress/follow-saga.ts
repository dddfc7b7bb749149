import type { AdminClient } from '../admin/admin-client';
import { watchAdminStream } from '../admin/admin-stream';
import { isTerminalStatus, type SagaDetail } from '../admin/admin-views';
import { AuthenticationRejected, ConnectionError, Interrupted, OperationFailed, UsageError } from '../cli-errors';
import type { ProgressView } from './progress-view';

export interface FollowOptions {
  /** How long a saga may take to appear (a command on Kafka not consumed yet). */
  readonly appearWithinMs?: number;
  /** How long the admin API may be unreachable before giving up. */
  readonly patienceMs?: number;
  /** Re-read the detail this often even without stream events (a missed event costs at most this). */
  readonly pollMs?: number;
  /** Redraw interval of a live view (elapsed times). */
  readonly tickMs?: number;
  /** What to tell the operator while waiting for the saga to appear. */
  readonly waitingMessage?: string;
}

const fatal = (error: unknown): boolean => error instanceof AuthenticationRejected || error instanceof UsageError || error instanceof OperationFailed;

/**
 * Watches one saga until it is COMPLETED, COMPENSATED or FAILED and resolves with its
 * final detail. Driven by the admin stream: every `event: saga` for this saga (and every
 * reconnect) re-reads the detail; a slow poll covers events that never came.
 */
export function followSaga(client: AdminClient, sagaId: string, view: ProgressView, interrupt: AbortSignal, options: FollowOptions = {}): Promise<SagaDetail> {
  const appearWithinMs = options.appearWithinMs ?? 60_000;
  const patienceMs = options.patienceMs ?? 30_000;
  const stop = new AbortController();
  const startedAt = Date.now();
  let lastAnswerAt = Date.now();
  let latest: SagaDetail | null = null;
  let inFlight = false;
  let again = false;
  const timers: NodeJS.Timeout[] = [];

  return new Promise<SagaDetail>((resolve, reject) => {
    const finish = (outcome: { detail: SagaDetail } | { error: unknown }) => {
      if (stop.signal.aborted) return;
      stop.abort();
      timers.forEach((timer) => clearInterval(timer));
      interrupt.removeEventListener('abort', onInterrupt);
      view.close();
      if ('detail' in outcome) resolve(outcome.detail);
      else reject(outcome.error);
    };
    const onInterrupt = () =>
      finish({ error: new Interrupted(`stopped watching saga ${sagaId}; it goes on in the background`, [`watch again: saga show ${sagaId} --follow`]) });

    const refresh = (): void => {
      if (stop.signal.aborted) return;
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      client
        .detailIfExists(sagaId)
        .then((detail) => {
          lastAnswerAt = Date.now();
          view.note(null);
          if (detail === null) {
            if (latest) return;
            if (Date.now() - startedAt > appearWithinMs) {
              finish({
                error: new ConnectionError(`saga ${sagaId} did not appear on ${client.url} within ${Math.round(appearWithinMs / 1000)} s`, [
                  'is the orchestrator running and consuming site-saga.commands? check KAFKA_BROKERS and KAFKA_TOPIC_PREFIX',
                ]),
              });
            } else view.waiting(options.waitingMessage ?? `waiting for saga ${sagaId} to start…`);
            return;
          }
          if (latest && detail.version < latest.version) return; // an answer overtaken by a newer one
          latest = detail;
          view.update(detail);
          if (isTerminalStatus(detail.status)) finish({ detail });
        })
        .catch((error: unknown) => {
          if (interrupt.aborted) return onInterrupt();
          if (fatal(error) || Date.now() - lastAnswerAt > patienceMs) return finish({ error });
          view.note(`admin API unreachable (${(error as Error).message}); retrying`);
        })
        .finally(() => {
          inFlight = false;
          if (again) {
            again = false;
            refresh();
          }
        });
    };

    if (interrupt.aborted) return onInterrupt();
    interrupt.addEventListener('abort', onInterrupt, { once: true });
    watchAdminStream(
      client,
      {
        onOpen: refresh,
        onSaga: (summary) => {
          if (summary.id === sagaId) refresh();
        },
        onDrop: (_error, retryInMs) => view.note(`live stream lost; reconnecting in ${Math.round(retryInMs / 1000)} s`),
      },
      stop.signal,
      { giveUpAfterMs: patienceMs },
    ).catch((error: unknown) => finish({ error }));
    refresh();
    timers.push(setInterval(refresh, options.pollMs ?? 2_000));
    timers.push(setInterval(() => view.tick(), options.tickMs ?? 250));
  });
}
