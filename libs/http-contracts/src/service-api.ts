import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { type HttpApi, json, z } from './zod-openapi';

/** `{ field, message }`: one reason of a refusal. */
export const fieldError = z
  .object({ field: z.string().openapi({ example: 'name' }), message: z.string().openapi({ example: 'is taken' }) })
  .openapi('FieldError');
export type FieldError = z.infer<typeof fieldError>;

/** `{ message, errors: [{ field, message }] }`: every 4xx of every service (a 5xx carries a bare message). */
export const errorBody = z.object({ message: z.string(), errors: z.array(fieldError).optional() }).openapi('ErrorBody');
export type ErrorBody = z.infer<typeof errorBody>;

/**
 * A zod refusal as the APIs answer it: one `{ field, message }` per issue, an unknown key
 * named by itself (`unknownKey`: 'unknown field', 'unknown query parameter'); one reason per field.
 */
export function fieldErrorsOf(error: z.ZodError, unknownKey = 'unknown field'): FieldError[] {
  const errors = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: unknownKey }))
      : [{ field: issue.path.join('.') || '(body)', message: issue.message }],
  );
  // One reason per field, the first: a value too long and unprintable is one refusal.
  return errors.filter((error, index) => errors.findIndex((other) => other.field === error.field) === index);
}

/** An answer with the error body, for a route's `responses`. */
export const errorAnswer = (description: string) => ({ description, content: json(errorBody) });

const healthCheck = z.object({ status: z.enum(['up', 'down']), error: z.string().optional() }).openapi('HealthCheck');
export const health = z.object({ status: z.enum(['ok', 'error']), checks: z.object({ database: healthCheck, kafka: healthCheck }) }).openapi('Health');

/** Tag of the routes every service has; the docs show it last. */
export const SERVICE_TAG = 'service';

/** The routes every service has (libs/messaging's HealthController and MetricsController). */
export const SERVICE_API: HttpApi = {
  title: 'service',
  description: 'health and metrics',
  tags: [SERVICE_TAG],
  register(registry: OpenAPIRegistry) {
    registry.register('FieldError', fieldError);
    registry.register('ErrorBody', errorBody);
    registry.registerPath({
      method: 'get',
      path: '/health',
      summary: 'Readiness: the database and Kafka answer and the consumer is in its group',
      tags: [SERVICE_TAG],
      responses: { 200: { description: 'Both answer', content: json(health) }, 503: { description: 'One of them does not', content: json(health) } },
    });
    registry.registerPath({
      method: 'get',
      path: '/health/live',
      summary: 'Liveness: the consumer loop and the outbox relay loop are alive (a broker or database outage is not a liveness failure)',
      tags: [SERVICE_TAG],
      responses: {
        200: { description: 'Both loops run or are recovering', content: json(z.object({}).passthrough()) },
        503: { description: 'A loop is dead or wedged and cannot recover: replace the process', content: json(z.object({}).passthrough()) },
      },
    });
    registry.registerPath({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      tags: [SERVICE_TAG],
      responses: { 200: { description: 'The exposition', content: { 'text/plain': { schema: z.string() } } } },
    });
  },
};
