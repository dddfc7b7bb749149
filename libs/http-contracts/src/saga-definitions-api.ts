import { z } from './zod-openapi';

/*
 * `GET /admin/definitions`: every saga the orchestrator runs, as it runs it (timeouts and
 * backoffs after SAGA_TIME_SCALE), with the commands each step sends and who handles them.
 * `saga rehearse` derives its fault cases from it, so a new step is rehearsed with no new test.
 */

export const definitionRetry = z
  .object({
    maxAttempts: z.number().int(),
    backoffMs: z.number(),
    factor: z.number(),
    jitter: z.number(),
    maxBackoffMs: z.number(),
  })
  .openapi('DefinitionRetry');

export const definitionCommand = z
  .object({
    type: z.string().openapi({ example: 'ProvisionStorage' }),
    topic: z.string().openapi({ example: 'storage.commands', description: 'The contract topic (without a deployment prefix)' }),
    service: z.string().openapi({ example: 'storage', description: "The service that handles it: the owner of the command's topic (the contracts catalogue)" }),
    succeeded: z.string().openapi({ example: 'StorageProvisioned' }),
    failed: z.string().openapi({ example: 'StorageProvisioningFailed' }),
  })
  .openapi('DefinitionCommand');
export type DefinitionCommand = z.infer<typeof definitionCommand>;

export const definitionStep = z
  .object({
    name: z.string(),
    position: z.number().int().openapi({ description: 'Stage index: the steps of one parallel group share it' }),
    command: definitionCommand,
    timeoutMs: z.number(),
    retry: definitionRetry,
    compensation: z
      .object({ command: definitionCommand, timeoutMs: z.number(), retry: definitionRetry })
      .nullable()
      .openapi({ description: 'The undo, sent when a later step fails; null: the step is not undone' }),
  })
  .openapi('DefinitionStep');
export type DefinitionStepView = z.infer<typeof definitionStep>;

export const sagaDefinitionView = z
  .object({
    type: z.string().openapi({ example: 'CreateSite' }),
    whenExhausted: z.enum(['compensate', 'stop']).openapi({ description: 'What a forward step out of attempts does: undo the saga, or stop FAILED for a person' }),
    timeScale: z.number().openapi({ description: 'SAGA_TIME_SCALE: every timeout and backoff below is already multiplied by it' }),
    stages: z.array(z.object({ position: z.number().int(), parallel: z.boolean(), steps: z.array(definitionStep) })),
  })
  .openapi('SagaDefinition');
export type SagaDefinitionView = z.infer<typeof sagaDefinitionView>;

export const sagaDefinitions = z.object({ items: z.array(sagaDefinitionView) }).openapi('SagaDefinitions');
export type SagaDefinitions = z.infer<typeof sagaDefinitions>;
