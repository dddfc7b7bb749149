import type { DefinitionCommand, SagaDefinitionView, SagaDefinitions } from '@sitesaga/http-contracts';
import type { AnyCommand, AnySagaDefinition, ResolvedRetryPolicy } from '@sitesaga/saga';

/**
 * The service that handles a command: the owner of its topic in the contracts catalogue
 * (`storage.commands` → storage; topics.ts names every topic `<owner>.commands|events`).
 */
export const serviceOfTopic = (topic: string): string => topic.split('.')[0] ?? topic;

const commandView = (command: AnyCommand): DefinitionCommand => ({
  type: command.type,
  topic: command.topic,
  service: serviceOfTopic(command.topic),
  succeeded: command.succeeded.type,
  failed: command.failed.type,
});

const retryView = ({ maxAttempts, backoffMs, factor, jitter, maxBackoffMs }: ResolvedRetryPolicy) => ({ maxAttempts, backoffMs, factor, jitter, maxBackoffMs });

/** One saga as the engine runs it (time-scaled), stage by stage: what `GET /admin/definitions` answers. */
export function definitionView(definition: AnySagaDefinition): SagaDefinitionView {
  const stages = Array.from({ length: definition.stageCount }, (_, position) => {
    const steps = definition.steps.filter((step) => step.position === position);
    return {
      position,
      parallel: steps.length > 1,
      steps: steps.map((step) => ({
        name: step.name,
        position,
        command: commandView(step.action.command),
        timeoutMs: step.timeoutMs,
        retry: retryView(step.retry),
        compensation: step.compensate
          ? { command: commandView(step.compensate.command), timeoutMs: step.compensationTimeoutMs, retry: retryView(step.compensationRetry) }
          : null,
      })),
    };
  });
  return { type: definition.type, whenExhausted: definition.whenExhausted, timeScale: definition.timeScale, stages };
}

export const definitionsView = (definitions: readonly AnySagaDefinition[]): SagaDefinitions => ({ items: definitions.map(definitionView) });
