import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FieldReason } from '@sitesaga/contracts';
import { SITES_BODY_LIMIT } from '@sitesaga/http-contracts';
import type { Logger } from 'pino';
import { type Observable, throwError } from 'rxjs';

export const BODY_LIMIT = SITES_BODY_LIMIT;

export interface HttpError {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const bodyError = (status: number, message: string, reason: string): HttpError => ({
  status,
  body: { message, errors: [{ field: '(body)', message: reason }] satisfies FieldReason[] },
});

/**
 * What the client gets for any error: a 4xx always reads `{ message, errors: [{ field,
 * message }] }`; the body parser's own errors (too large, not JSON) become the same
 * shape instead of an HTML page or a 500; an unexpected error is a bare 500 that
 * reveals nothing. Pure, so it is tested without a server.
 */
export function httpErrorOf(exception: unknown): HttpError {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const body: Record<string, unknown> = typeof response === 'string' ? { message: response } : { ...(response as Record<string, unknown>) };
    if (status >= 400 && status < 500) {
      delete body.statusCode;
      delete body.error;
      if (Array.isArray(body.message)) body.message = body.message.join('; ');
      if (!Array.isArray(body.errors)) body.errors = [];
    }
    return { status, body };
  }
  return bodyParserErrorOf(exception) ?? { status: 500, body: { message: 'internal error' } };
}

/** The body parser's errors (too large, not JSON, bad charset) as client errors; null for anything else. */
export function bodyParserErrorOf(exception: unknown): HttpError | null {
  const parserError = exception as { type?: unknown; status?: unknown } | null;
  if (parserError && typeof parserError.type === 'string' && typeof parserError.status === 'number') {
    switch (parserError.type) {
      case 'entity.too.large':
        return bodyError(413, 'request body too large', `must be at most ${BODY_LIMIT}`);
      case 'entity.parse.failed':
        return bodyError(400, 'request body is not valid JSON', 'is not valid JSON');
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return bodyError(415, 'unsupported request encoding', 'must be UTF-8 JSON');
      default:
        if (parserError.status >= 400 && parserError.status < 500) return bodyError(parserError.status, 'unreadable request body', 'could not be read');
    }
  }
  return null;
}

/** Applied to the whole app; RPC errors go back to the Kafka transport untouched. */
@Catch()
export class HttpErrorsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() !== 'http') return throwError(() => exception);
    const { status, body } = httpErrorOf(exception);
    if (status >= 500 && !(exception instanceof HttpException)) this.logger.error({ err: exception }, 'request failed');
    const response = host.switchToHttp().getResponse<{ headersSent: boolean; status(code: number): { json(body: unknown): void } }>();
    if (!response.headersSent) response.status(status).json(body);
  }
}
