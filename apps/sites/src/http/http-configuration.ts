import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { BODY_LIMIT, bodyParserErrorOf, HttpErrorsFilter } from './http-errors.filter';

interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

/**
 * Registered before Nest's defaults (which then stand aside): small bodies only, and
 * every error in one JSON shape. The parser's errors are answered right behind it,
 * because Nest would otherwise turn a JSON syntax error into a bare message.
 */
export function configureHttp(app: INestApplication, logger: Logger): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.useBodyParser('json', { limit: BODY_LIMIT });
  express.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  express.use((error: unknown, _request: unknown, response: JsonResponse, next: (error: unknown) => void) => {
    const answer = bodyParserErrorOf(error);
    if (!answer) return next(error);
    response.status(answer.status).json(answer.body);
  });
  app.useGlobalFilters(new HttpErrorsFilter(logger));
}
