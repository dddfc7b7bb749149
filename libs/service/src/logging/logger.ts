import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { currentMessageScope } from '@sitesaga/messaging';

/**
 * Secrets never reach a log line: any field with one of these names is censored wherever
 * it appears (two levels deep, which covers envelopes and their payloads).
 */
const SECRET_KEYS = ['password', 'credentials', 'secret', 'token', 'authorization', 'adminPassword', 'passwordHash', 'connectionString'];
const redactPaths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export function createLogger(service: string, options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // Every line written while a message is handled names its saga and conversation.
      mixin: () => {
        const scope = currentMessageScope();
        return scope ? { sagaId: scope.sagaId, correlationId: scope.correlationId, causationId: scope.messageId, messageType: scope.type } : {};
      },
    },
    options.destination,
  );
}

/** Nest's logger interface over pino, so framework lines are JSON too. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, message instanceof Error ? message.message : String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
