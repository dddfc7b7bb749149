import { AuthenticationRejected, ConnectionError, OperationFailed, UsageError } from '../cli-errors';
import { SseParser } from '../stream/sse-parser';
import { type AdminClient, NotAnEventStream } from './admin-client';
import { sagaSummary } from '@sitesaga/http-contracts';
import type { SagaSummary } from './admin-views';

export interface StreamHandlers {
  /** Connected (again): events may have been missed meanwhile, so re-read what matters. */
  onOpen?(): void;
  /** One `event: saga` frame: the summary of a saga that changed. */
  onSaga(summary: SagaSummary): void;
  /** The stream broke; it is reopened in `retryInMs`. */
  onDrop?(error: unknown, retryInMs: number): void;
}

export interface StreamOptions {
  /** Give up (rethrow) after this long without a connection. Default: never. */
  readonly giveUpAfterMs?: number;
  /** Rethrow when the very first connection fails (the admin API is not there at all). */
  readonly failFirstConnect?: boolean;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** An `event: saga` whose data has the admin API's summary shape (libs/http-contracts). */
const isSummary = (value: unknown): value is SagaSummary => sagaSummary.safeParse(value).success;

/** Errors a reconnect cannot fix. */
const isFatal = (error: unknown): boolean => error instanceof AuthenticationRejected || error instanceof NotAnEventStream || error instanceof UsageError || error instanceof OperationFailed;

/**
 * Reads `GET /admin/stream` until `signal` aborts, reconnecting (after the server's
 * `retry:`, 3 s by default) when it breaks. Resolves when aborted; rejects on a refused
 * token, or after `giveUpAfterMs` without a connection.
 */
export async function watchAdminStream(client: AdminClient, handlers: StreamHandlers, signal: AbortSignal, options: StreamOptions = {}): Promise<void> {
  let retryMs = 3000;
  let connectedAt = Date.now();
  let everConnected = false;
  while (!signal.aborted) {
    const parser = new SseParser();
    try {
      const body = await client.openStream(signal);
      connectedAt = Date.now();
      everConnected = true;
      handlers.onOpen?.();
      const decoder = new TextDecoder();
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (event.retry !== null) retryMs = event.retry;
          if (event.event !== 'saga') continue;
          let summary: unknown;
          try {
            summary = JSON.parse(event.data);
          } catch {
            continue; // a frame we cannot read is skipped, never fatal
          }
          if (isSummary(summary)) handlers.onSaga(summary);
        }
        connectedAt = Date.now();
      }
      if (signal.aborted) return;
      throw new ConnectionError(`the live stream from ${client.url} ended`);
    } catch (error) {
      if (signal.aborted) return;
      if (isFatal(error) || (options.failFirstConnect && !everConnected)) throw error;
      if (options.giveUpAfterMs !== undefined && Date.now() - connectedAt > options.giveUpAfterMs) {
        throw error instanceof ConnectionError ? error : new ConnectionError(`the live stream from ${client.url} broke: ${(error as Error).message}`);
      }
      handlers.onDrop?.(error, retryMs);
      await sleep(retryMs, signal);
    }
  }
}
