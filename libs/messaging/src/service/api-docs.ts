import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { OperationObject, PathItemObject, SchemaObject, SecuritySchemeObject } from '@nestjs/swagger';

/** `GET /sites/{id}`: an operation as OpenAPI spells its method and path. */
export type OperationKey = `${'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} /${string}`;

export interface ApiDocsOptions {
  readonly title: string;
  readonly description: string;
  readonly version?: string;
  /**
   * What the route scan cannot know, per operation: summary, parameters, bodies, answers.
   * Merged over the scanned operation; an operation described here that the app does not
   * serve is an error (see `describedButMissing`), so the docs cannot outlive a route.
   */
  readonly operations: Readonly<Record<OperationKey, Partial<OperationObject>>>;
  readonly schemas?: Readonly<Record<string, SchemaObject>>;
  readonly securitySchemes?: Readonly<Record<string, SecuritySchemeObject>>;
  /** Path prefixes left out of the document (e.g. `/faults`, a test tool). */
  readonly exclude?: readonly string[];
  /** Other documents served as JSON beside the spec: `{ 'asyncapi.json': () => document }` → `/docs/asyncapi.json`. */
  readonly extraDocuments?: Readonly<Record<string, () => unknown>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** `{ message, errors: [{ field, message }] }`: every 4xx of every service (a 5xx carries a bare message). */
export const ERROR_BODY_REF = { $ref: '#/components/schemas/ErrorBody' } as const;

/** An answer with the error body, for the operations' `responses`. */
export const errorAnswer = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_BODY_REF } } });

const SERVICE_SCHEMAS: Record<string, SchemaObject> = {
  FieldError: {
    type: 'object',
    required: ['field', 'message'],
    properties: { field: { type: 'string', example: 'name' }, message: { type: 'string', example: 'is taken' } },
  },
  ErrorBody: {
    type: 'object',
    required: ['message'],
    properties: { message: { type: 'string' }, errors: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } } },
  },
  HealthCheck: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] }, error: { type: 'string' } },
  },
  Health: {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { type: 'string', enum: ['ok', 'error'] },
      checks: {
        type: 'object',
        required: ['database', 'kafka'],
        properties: { database: { $ref: '#/components/schemas/HealthCheck' }, kafka: { $ref: '#/components/schemas/HealthCheck' } },
      },
    },
  },
};

/** The routes every service has (libs/messaging's HealthController and MetricsController). */
const SERVICE_OPERATIONS: Record<OperationKey, Partial<OperationObject>> = {
  'GET /health': {
    summary: 'Readiness: the database and Kafka answer and the consumer is in its group',
    tags: ['service'],
    responses: {
      200: { description: 'Both answer', content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } } },
      503: { description: 'One of them does not', content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } } },
    },
  },
  'GET /health/live': {
    summary: 'Liveness: the consumer loop and the outbox relay loop are alive (a broker or database outage is not a liveness failure)',
    tags: ['service'],
    responses: {
      200: { description: 'Both loops run or are recovering', content: { 'application/json': { schema: { type: 'object' } } } },
      503: { description: 'A loop is dead or wedged and cannot recover: replace the process', content: { 'application/json': { schema: { type: 'object' } } } },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['service'],
    responses: { 200: { description: 'The exposition', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
};

/** Left out of every document: `/faults` is a test tool, refused in production. */
const ALWAYS_EXCLUDED = ['/faults'];

const operationsOf = (options: Pick<ApiDocsOptions, 'operations'>): Record<string, Partial<OperationObject>> => ({ ...SERVICE_OPERATIONS, ...options.operations });

/**
 * The service's OpenAPI 3 document: every HTTP route Nest serves (scanned from the
 * controllers, so a new route shows up by itself), with the descriptions of `options`.
 */
export function apiDocument(app: INestApplication, options: ApiDocsOptions): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(options.title)
    .setDescription(options.description)
    .setVersion(options.version ?? '1.0.0')
    .build();
  const scanned = SwaggerModule.createDocument(app, config);
  const paths: Record<string, PathItemObject> = {};
  const operations = operationsOf(options);
  const excluded = [...ALWAYS_EXCLUDED, ...(options.exclude ?? [])];
  for (const [path, item] of Object.entries(scanned.paths)) {
    if (excluded.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) continue;
    const described: PathItemObject = { ...item };
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const extra = operations[`${method.toUpperCase()} ${path}`];
      // Nest's guesses (a bare 200/201 with no schema) give way to the description's answers.
      described[method] = extra ? { ...operation, ...extra, responses: extra.responses ?? operation.responses } : operation;
    }
    paths[path] = described;
  }
  const securitySchemes = { ...scanned.components?.securitySchemes, ...options.securitySchemes };
  // Groups in the order the service describes them, the common service routes last.
  const tagOrder = [...new Set([...Object.values(options.operations).flatMap((operation) => operation.tags ?? []), 'service'])];
  return {
    ...scanned,
    tags: tagOrder.map((name) => ({ name })),
    paths,
    components: {
      ...scanned.components,
      schemas: { ...scanned.components?.schemas, ...SERVICE_SCHEMAS, ...options.schemas },
      // An empty map would still show Swagger UI's "Authorize" button.
      ...(Object.keys(securitySchemes).length > 0 ? { securitySchemes } : {}),
    },
  };
}

/** Operations described in `options` (the service's own, not health and metrics) that the app does not serve: must be empty. */
export function describedButMissing(document: OpenAPIObject, options: Pick<ApiDocsOptions, 'operations'>): string[] {
  return Object.keys(options.operations).filter((key) => {
    const [method, path] = key.split(' ') as [string, string];
    return document.paths[path]?.[method.toLowerCase() as (typeof METHODS)[number]] === undefined;
  });
}

/** Operations the app serves that `options` does not describe. */
export function undescribed(document: OpenAPIObject, options: Pick<ApiDocsOptions, 'operations'>): string[] {
  const operations = operationsOf(options);
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined)
      .map((method) => `${method.toUpperCase()} ${path}`)
      .filter((key) => !(key in operations)),
  );
}

/**
 * Swagger UI at `/docs`, the OpenAPI JSON at `/docs/openapi.json`, and any extra
 * documents at `/docs/<name>`. Public: they describe the API and hold no data (the API's
 * own routes keep their authentication). Call in the service's `configure`, before listen.
 */
export function serveApiDocs(app: INestApplication, options: ApiDocsOptions): void {
  const adapter = app.getHttpAdapter();
  for (const [name, build] of Object.entries(options.extraDocuments ?? {})) {
    let document: unknown = null;
    adapter.get(`/docs/${name}`, (_request: unknown, response: { setHeader(name: string, value: string): void; end(body: string): void }) => {
      document ??= build();
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(document));
    });
  }
  let document: OpenAPIObject | null = null;
  SwaggerModule.setup('docs', app, () => (document ??= apiDocument(app, options)), {
    jsonDocumentUrl: 'docs/openapi.json',
    raw: ['json'],
    customSiteTitle: options.title,
  });
}
