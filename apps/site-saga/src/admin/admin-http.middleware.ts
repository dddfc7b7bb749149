import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdminMetrics } from './admin-metrics';

/** Headers every admin answer carries, and a count per route and status. Logs nothing: the token must never reach a log. */
@Injectable()
export class AdminHttpMiddleware implements NestMiddleware {
  constructor(private readonly metrics: AdminMetrics) {}

  use(request: IncomingMessage & { route?: { path?: string } }, response: ServerResponse, next: () => void): void {
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    response.setHeader('X-Frame-Options', 'DENY');
    response.setHeader('Cache-Control', 'no-store');
    response.on('finish', () => {
      const route = `${request.method ?? 'GET'} ${request.route?.path ?? '(unmatched)'}`;
      this.metrics.requests.inc({ route, status: String(response.statusCode) });
    });
    next();
  }
}
