import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Logger } from 'pino';
import { ADMIN_LOGGER } from './saga-stream';

interface JsonResponse {
  headersSent: boolean;
  setHeader(name: string, value: string): void;
  status(code: number): { json(body: unknown): void };
}

/** What an admin client gets for any error: a 4xx reads `{ message, errors: [{ field, message }] }`; a 500 reveals nothing. */
export function adminErrorOf(exception: unknown): { status: number; body: Record<string, unknown> } {
  if (!(exception instanceof HttpException)) return { status: 500, body: { message: 'internal error', errors: [] } };
  const status = exception.getStatus();
  const response = exception.getResponse();
  const body: Record<string, unknown> = typeof response === 'string' ? { message: response } : { ...(response as Record<string, unknown>) };
  delete body.statusCode;
  delete body.error;
  if (Array.isArray(body.message)) body.message = body.message.join('; ');
  if (!Array.isArray(body.errors)) body.errors = [];
  return { status, body };
}

@Catch()
export class AdminErrorsFilter implements ExceptionFilter {
  constructor(@Inject(ADMIN_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = adminErrorOf(exception);
    if (status >= 500) this.logger.error({ err: exception }, 'admin request failed');
    const response = host.switchToHttp().getResponse<JsonResponse>();
    if (response.headersSent) return; // an event stream already under way
    if (status === 401) response.setHeader('WWW-Authenticate', 'Bearer realm="site-saga admin"');
    response.status(status).json(body);
  }
}
