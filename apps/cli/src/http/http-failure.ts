import { ConnectionError, fieldLines, Interrupted, OperationFailed, UsageError, type CliError } from '../cli-errors';

/** `{ message, errors: [{ field, message }] }`, the 4xx body of both HTTP APIs. */
export interface ErrorBody {
  readonly message?: unknown;
  readonly errors?: unknown;
}

const fieldErrorsOf = (body: ErrorBody | undefined): { field: string; message: string }[] =>
  Array.isArray(body?.errors)
    ? body.errors.filter(
        (error): error is { field: string; message: string } => typeof error === 'object' && error !== null && typeof error.field === 'string' && typeof error.message === 'string',
      )
    : [];

export const messageOf = (body: ErrorBody | undefined, fallback: string): string => (typeof body?.message === 'string' && body.message ? body.message : fallback);

/** Why a request could not be made at all: refused, unknown host, timed out, interrupted. */
export function unreachable(error: unknown, what: string, url: string, hint: string, interrupted: boolean): CliError {
  if (interrupted) return new Interrupted();
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new ConnectionError(`${what} at ${url} did not answer in time`, [hint]);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const detail =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'unknown host'
        : typeof cause?.message === 'string'
          ? cause.message
          : (error as Error | undefined)?.message ?? String(error);
  return new ConnectionError(`cannot reach ${what} at ${url}: ${detail}`, [hint]);
}

/** A non-2xx answer → the error the operator sees, with its exit code. */
export function refused(status: number, body: ErrorBody | undefined, request: string, notFound: string): CliError {
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return new UsageError(`${request} refused: ${messageOf(body, `HTTP ${status}`)}`, fieldLines(fieldErrorsOf(body)));
  }
  if (status === 404) return new OperationFailed(notFound);
  if (status === 409) {
    // The server's message already says what and why: "cannot retry saga …: it is COMPLETED".
    const message = typeof body?.message === 'string' && body.message ? body.message : `${request} refused: conflict`;
    return new OperationFailed(message, fieldLines(fieldErrorsOf(body)));
  }
  if (status === 502 || status === 503 || status === 504) {
    // A 503 that says why (a participant that did not answer the orphan audit) is passed on.
    const why = typeof body?.message === 'string' && body.message ? `: ${body.message}` : '';
    return new ConnectionError(`${request}: the server is unavailable (HTTP ${status})${why}`);
  }
  return new OperationFailed(`${request} failed: HTTP ${status}${typeof body?.message === 'string' ? ` ${body.message}` : ''}`);
}

export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
