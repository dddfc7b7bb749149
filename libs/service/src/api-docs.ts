import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, type OperationObject, type PathItemObject, SwaggerModule } from '@nestjs/swagger';
import { generateApiDocument, type GeneratedApiDocument, type HttpApi, SERVICE_API, SERVICE_TAG } from '@sitesaga/http-contracts';

export interface ApiDocsOptions {
  /** The service's own routes and shapes, as zod (libs/http-contracts); health and metrics are added. */
  readonly api: HttpApi;
  /** Path prefixes left out of the document (e.g. `/faults`, a test tool). */
  readonly exclude?: readonly string[];
  /** Other documents served as JSON beside the spec: `{ 'asyncapi.json': () => document }` → `/docs/asyncapi.json`. */
  readonly extraDocuments?: Readonly<Record<string, () => unknown>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Left out of every document: `/faults` is a test tool, refused in production. */
const ALWAYS_EXCLUDED = ['/faults'];

const generatedOf = (options: Pick<ApiDocsOptions, 'api'>): GeneratedApiDocument => generateApiDocument(options.api, SERVICE_API);

/**
 * The service's OpenAPI 3 document: every HTTP route Nest serves (scanned from the
 * controllers, so a new route shows up by itself), each described by the operation
 * generated from the zod shapes of `options.api`.
 */
export function apiDocument(app: INestApplication, options: Pick<ApiDocsOptions, 'api' | 'exclude'>): OpenAPIObject {
  const generated = generatedOf(options);
  const config = new DocumentBuilder().setTitle(generated.title).setDescription(generated.description).setVersion(generated.version).build();
  const scanned = SwaggerModule.createDocument(app, config);
  const paths: Record<string, PathItemObject> = {};
  const excluded = [...ALWAYS_EXCLUDED, ...(options.exclude ?? [])];
  for (const [path, item] of Object.entries(scanned.paths)) {
    if (excluded.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) continue;
    const described: PathItemObject = { ...item };
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const extra = generated.paths[path]?.[method] as Partial<OperationObject> | undefined;
      // Nest's guesses (a bare 200/201 with no schema) give way to the generated answers.
      described[method] = extra ? { ...operation, ...extra, responses: extra.responses ?? operation.responses } : operation;
    }
    paths[path] = described;
  }
  const securitySchemes = { ...scanned.components?.securitySchemes, ...generated.components.securitySchemes };
  return {
    ...scanned,
    // Groups in the order the service describes them, the common service routes last.
    tags: [...generated.tags.filter((tag) => tag !== SERVICE_TAG), SERVICE_TAG].map((name) => ({ name })),
    paths,
    components: {
      ...scanned.components,
      schemas: { ...scanned.components?.schemas, ...generated.components.schemas },
      // An empty map would still show Swagger UI's "Authorize" button.
      ...(Object.keys(securitySchemes).length > 0 ? { securitySchemes } : {}),
    },
  } as OpenAPIObject;
}

const operationKeys = (paths: Record<string, Record<string, unknown>>, keep: (operation: Partial<OperationObject>) => boolean): string[] =>
  Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined && keep(item[method] as Partial<OperationObject>)).map((method) => `${method.toUpperCase()} ${path}`),
  );

/** Operations the service's api describes (not health and metrics) that the app does not serve: must be empty. */
export function describedButMissing(document: OpenAPIObject, options: Pick<ApiDocsOptions, 'api'>): string[] {
  const own = operationKeys(generatedOf(options).paths, (operation) => !(operation.tags ?? []).includes(SERVICE_TAG));
  const served = new Set(operationKeys(document.paths as Record<string, Record<string, unknown>>, () => true));
  return own.filter((key) => !served.has(key));
}

/** Operations the app serves that the service's api does not describe. */
export function undescribed(document: OpenAPIObject, options: Pick<ApiDocsOptions, 'api'>): string[] {
  const described = new Set(operationKeys(generatedOf(options).paths, () => true));
  return operationKeys(document.paths as Record<string, Record<string, unknown>>, () => true).filter((key) => !described.has(key));
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
    customSiteTitle: options.api.title,
  });
}
