import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// `.openapi({ description, example, ... })` on every zod schema, once for the process. The
// schemas stay plain zod: the server parses with them, the CLI too, the docs read them.
extendZodWithOpenApi(z);

export { z };

/** An HTTP API as data: its title and description, and how it registers its schemas and routes. */
export interface HttpApi {
  readonly title: string;
  readonly description: string;
  readonly version?: string;
  /** Tags in the order the docs show them. */
  readonly tags: readonly string[];
  register(registry: OpenAPIRegistry): void;
}

export type { RouteConfig };

/** The paths and components OpenAPI 3.0 generates from `apis` (their routes, schemas and security schemes). */
export interface GeneratedApiDocument {
  readonly title: string;
  readonly description: string;
  readonly version: string;
  readonly tags: readonly string[];
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: Record<string, Record<string, unknown>>;
}

export function generateApiDocument(api: HttpApi, ...more: readonly HttpApi[]): GeneratedApiDocument {
  const registry = new OpenAPIRegistry();
  for (const each of [api, ...more]) each.register(registry);
  const document = new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.0',
    info: { title: api.title, description: api.description, version: api.version ?? '1.0.0' },
  });
  return {
    title: api.title,
    description: api.description,
    version: api.version ?? '1.0.0',
    tags: [...new Set([api, ...more].flatMap((each) => each.tags))],
    paths: (document.paths ?? {}) as GeneratedApiDocument['paths'],
    components: (document.components ?? {}) as GeneratedApiDocument['components'],
  };
}

/** `{ 'application/json': { schema } }` */
export const json = (schema: z.ZodTypeAny) => ({ 'application/json': { schema } });

/** An RFC 3339 timestamp as the APIs answer it (`Date#toISOString`). */
export const timestamp = () => z.string().openapi({ format: 'date-time' });
