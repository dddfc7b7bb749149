import type { ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';

/** A JSON Schema object (draft-07, or the OpenAPI 3.0 dialect). */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * The JSON Schema of a zod schema, for documents generated from the contracts (AsyncAPI,
 * OpenAPI), so they cannot drift from what the code accepts. It describes what a sender
 * may send (the input side of transforms). It is looser than the zod schema where zod
 * checks in code (a site name's DNS-label rule, a domain's labels): zod stays the judge.
 * Objects that zod strips of unknown keys allow them; `.strict()` objects refuse them.
 */
export function jsonSchemaOf(schema: ZodTypeAny, options: { readonly target?: 'jsonSchema7' | 'openApi3' } = {}): JsonSchema {
  // Typed loosely: zod-to-json-schema's generic signature is too deep for tsc over our schemas.
  const convert = zodToJsonSchema as unknown as (schema: unknown, options: Record<string, unknown>) => JsonSchema;
  const converted = convert(schema, {
    target: options.target ?? 'jsonSchema7',
    $refStrategy: 'none',
    effectStrategy: 'input',
    removeAdditionalStrategy: 'strict',
  });
  const { $schema: _dialect, ...rest } = converted;
  return rest;
}
