import type { CommandDefinition, MessageDefinition, PayloadOf } from '@sitesaga/message-kit';
import { type Duration, toMilliseconds } from './duration';
import { InvalidSagaDefinition } from './errors';
import { DEFAULT_RETRY_POLICY, type ResolvedRetryPolicy, resolveRetryPolicy, type RetryPolicy } from './retry-policy';

/* eslint-disable @typescript-eslint/no-explicit-any -- a definition holds commands of any payload; `send`, `step` and `emit` keep the call sites typed */
export type AnyCommand = CommandDefinition<string, any, any, any>;
export type AnyMessage = MessageDefinition<string, any>;

/**
 * What a step (or its undo) sends: a command named in the table, and how its payload is
 * built from the saga's data. The command knows its topic and its reply events, so the
 * engine routes replies by a lookup computed from the definition, never by calling code.
 */
export interface Send<D, C extends AnyCommand = AnyCommand> {
  readonly command: C;
  readonly payload: (data: D) => PayloadOf<C>;
}

/** A message an outcome hook asks to send (built with `emit` for a typed payload). */
export interface OutgoingMessage<P = any> {
  readonly definition: MessageDefinition<string, P>;
  readonly payload: P;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** `send(ProvisionStorage, bySite)`: the command and its payload builder. */
export const send = <D, C extends AnyCommand>(command: C, payload: (data: D) => PayloadOf<C>): Send<D, C> => ({ command, payload });

export const emit = <P>(definition: MessageDefinition<string, P>, payload: P): OutgoingMessage<P> => ({ definition, payload });

/** What outcome hooks know besides the saga's data. */
export interface OutcomeContext {
  readonly sagaId: string;
  readonly sagaType: string;
  readonly correlationId: string;
  readonly now: Date;
}

/** Given to `onCompensated`: the saga is undone because `failedStep` failed (or was aborted). */
export interface CompensationOutcome {
  readonly failedStep: string;
  readonly reason: string;
  readonly aborted: boolean;
  /** `business`: the step was refused; `exhausted`: it ran out of attempts; `aborted`: an operator stopped the saga. */
  readonly cause: 'business' | 'exhausted' | 'aborted';
  /** For a business refusal about fields: which ones, as the participant said (`{ field, message }`). */
  readonly reasons?: readonly { readonly field: string; readonly message: string }[];
}

/** Given to `onNeedsAttention`: `step` (a compensation, or a forward step of a `whenExhausted: 'stop'` saga) ran out of attempts with `reason`; the saga is FAILED. */
export interface NeedsAttention {
  readonly step: string;
  readonly reason: string;
  readonly failedStep: string;
  readonly failedReason: string;
}

type Timing = { readonly timeout?: Duration; readonly retry?: Partial<RetryPolicy> };

export interface StepOptions<D, S = unknown> {
  /** The undo, sent when a later step fails. Without one, a step that succeeded stays SUCCEEDED when the saga compensates. */
  readonly undo?: Send<D>;
  /** How long to wait for a reply to one send (default: the saga's `defaults.timeout`). */
  readonly timeout?: Duration;
  /** Overrides of the saga's default retry policy for this step's command. */
  readonly retry?: Partial<RetryPolicy>;
  /** Timing of the compensation (default: the step's own). */
  readonly compensation?: Timing;
  /** Enriches the saga's data from the success event's payload (e.g. a generated database name). */
  readonly onSucceeded?: (data: D, payload: S) => D;
}

export interface StepDefinition<D> {
  readonly kind: 'step';
  readonly name: string;
  readonly action: Send<D>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the payload type was checked by `step`
  readonly options: StepOptions<D, any>;
}

export interface ParallelStage<D> {
  readonly kind: 'parallel';
  readonly steps: readonly StepDefinition<D>[];
}

export type Stage<D> = StepDefinition<D> | ParallelStage<D>;

/** One step: send `action`'s command, wait for its success or failure event. */
export function step<D, C extends AnyCommand>(name: string, action: Send<D, C>, options: StepOptions<D, PayloadOf<C['succeeded']>> = {}): StepDefinition<D> {
  return { kind: 'step', name, action, options };
}

/** Steps sent at once; the stage is done (joined) when every one of them SUCCEEDED. */
export function parallel<D>(...steps: StepDefinition<D>[]): ParallelStage<D> {
  return { kind: 'parallel', steps };
}

export interface SagaSpec<D> {
  /** The saga's type, stored on every instance: never rename one that has instances. */
  readonly type: string;
  /**
   * The definition's version (a positive integer, default 1), stored on every instance it
   * starts. A change to the steps (added, removed, renamed, a different compensation) is a
   * new version: deploy it beside the old one, which keeps running the instances that
   * started on it, while the newest starts new ones (docs/adr/0007).
   */
  readonly version?: number;
  /**
   * Sagas with the same exclusion key never run at once, whatever their type: one that
   * starts while another holds the key waits, and begins in the transaction that ends the
   * holder (docs/adr/0008). Taken from data fixed when the saga starts (e.g. `site:<id>`).
   */
  readonly exclusionKey?: (data: D) => string | null | undefined;
  readonly defaults?: Timing;
  readonly stages: readonly Stage<D>[];
  readonly onStarted?: (data: D, context: OutcomeContext) => readonly OutgoingMessage[];
  readonly onCompleted?: (data: D, context: OutcomeContext) => readonly OutgoingMessage[];
  readonly onCompensated?: (data: D, outcome: CompensationOutcome, context: OutcomeContext) => readonly OutgoingMessage[];
  readonly onNeedsAttention?: (data: D, attention: NeedsAttention, context: OutcomeContext) => readonly OutgoingMessage[];
  /**
   * What a step that runs out of attempts does: `compensate` (default) undoes the saga;
   * `stop` leaves it FAILED where it is, asks a person (`onNeedsAttention`) and resumes
   * forward on an operator's retry — for sagas that cannot be undone (deleting a site).
   */
  readonly whenExhausted?: 'compensate' | 'stop';
  /** Keys of data never shown to people (admin responses): replaced wherever they occur in data. */
  readonly redact?: readonly string[];
  /** A filterable value stored beside the instance (e.g. the site name). */
  readonly searchKey?: (data: D) => string | null | undefined;
}

/** A step as the engine runs it: durations resolved to milliseconds. */
export interface SagaStep<D> {
  readonly name: string;
  /** Index of its stage. */
  readonly position: number;
  readonly action: Send<D>;
  readonly compensate: Send<D> | null;
  readonly timeoutMs: number;
  readonly retry: ResolvedRetryPolicy;
  readonly compensationTimeoutMs: number;
  readonly compensationRetry: ResolvedRetryPolicy;
  readonly onSucceeded: ((data: D, payload: unknown) => D) | null;
}

/** Which step and leg a reply event answers, and whether it says success or failure. */
export interface ReplyRoute {
  readonly step: string;
  readonly leg: 'forward' | 'compensation';
  readonly outcome: 'succeeded' | 'failed';
  readonly event: MessageDefinition;
}

export interface SagaDefinition<D> {
  readonly type: string;
  /** See SagaSpec.version: 1 unless the definition says otherwise. */
  readonly version: number;
  /** Every step, in stage order; `position` says which stage. */
  readonly steps: readonly SagaStep<D>[];
  /**
   * Reply event type → the steps and legs it may answer, in step order: computed once from
   * the commands the table names. A type with no route is no reply of this saga.
   */
  readonly routes: ReadonlyMap<string, readonly ReplyRoute[]>;
  /** Every reply event of every command the saga sends (forward or undo): what its host subscribes to. */
  readonly replies: readonly MessageDefinition[];
  readonly stageCount: number;
  readonly onStarted: NonNullable<SagaSpec<D>['onStarted']> | null;
  readonly onCompleted: NonNullable<SagaSpec<D>['onCompleted']> | null;
  readonly onCompensated: NonNullable<SagaSpec<D>['onCompensated']> | null;
  readonly onNeedsAttention: NonNullable<SagaSpec<D>['onNeedsAttention']> | null;
  readonly whenExhausted: 'compensate' | 'stop';
  readonly redact: readonly string[];
  readonly searchKey: (data: D) => string | null;
  /** The saga's exclusion key (see SagaSpec.exclusionKey), or null when it excludes nothing. */
  readonly exclusionKey: (data: D) => string | null;
  /** 1 as defined; see `scaleTimings`. */
  readonly timeScale: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of definitions of different data types
export type AnySagaDefinition = SagaDefinition<any>;

const DEFAULT_TIMEOUT: Duration = '30s';

/**
 * Turns a saga written as data into what `decide` runs, checking it on the way:
 * unique step names, no empty stage, valid durations and retry policies.
 */
export function defineSaga<D>(spec: SagaSpec<D>): SagaDefinition<D> {
  if (!spec.type) throw new InvalidSagaDefinition('a saga needs a type');
  const version = spec.version ?? 1;
  if (!Number.isInteger(version) || version < 1) throw new InvalidSagaDefinition(`${spec.type}: version must be a positive integer, got ${version}`);
  if (spec.stages.length === 0) throw new InvalidSagaDefinition(`${spec.type}: a saga needs at least one stage`);
  const defaultTimeout = spec.defaults?.timeout ?? DEFAULT_TIMEOUT;
  const defaultRetry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...spec.defaults?.retry };
  const seen = new Set<string>();
  const steps = spec.stages.flatMap((stage, position) => {
    const members = stage.kind === 'parallel' ? stage.steps : [stage];
    if (members.length === 0) throw new InvalidSagaDefinition(`${spec.type}: stage ${position} is an empty parallel group`);
    return members.map((member): SagaStep<D> => {
      if (!member.name) throw new InvalidSagaDefinition(`${spec.type}: a step in stage ${position} has no name`);
      if (seen.has(member.name)) throw new InvalidSagaDefinition(`${spec.type}: two steps are named ${member.name}`);
      seen.add(member.name);
      const { options } = member;
      const timeout = options.timeout ?? defaultTimeout;
      const retry: RetryPolicy = { ...defaultRetry, ...options.retry };
      try {
        return {
          name: member.name,
          position,
          action: member.action,
          compensate: options.undo ?? null,
          timeoutMs: toMilliseconds(timeout),
          retry: resolveRetryPolicy(retry),
          compensationTimeoutMs: toMilliseconds(options.compensation?.timeout ?? timeout),
          compensationRetry: resolveRetryPolicy({ ...retry, ...options.compensation?.retry }),
          onSucceeded: (options.onSucceeded as ((data: D, payload: unknown) => D) | undefined) ?? null,
        };
      } catch (error) {
        throw new InvalidSagaDefinition(`${spec.type}, step ${member.name}: ${(error as Error).message}`);
      }
    });
  });
  const searchKey = spec.searchKey;
  const exclusionKey = spec.exclusionKey;
  const routes = routesOf(steps);
  return {
    type: spec.type,
    version,
    steps,
    routes,
    replies: [...new Set([...routes.values()].flatMap((candidates) => candidates.map((route) => route.event)))],
    stageCount: spec.stages.length,
    onStarted: spec.onStarted ?? null,
    onCompleted: spec.onCompleted ?? null,
    onCompensated: spec.onCompensated ?? null,
    onNeedsAttention: spec.onNeedsAttention ?? null,
    whenExhausted: spec.whenExhausted ?? 'compensate',
    redact: spec.redact ?? [],
    searchKey: (data) => (searchKey ? (searchKey(data) ?? null) : null),
    exclusionKey: (data) => (exclusionKey ? exclusionKey(data) || null : null),
    timeScale: 1,
  };
}

/**
 * The same saga with every timeout and backoff multiplied by `factor` (attempt counts
 * unchanged): tests run a 30 s timeout as 30 ms with `scaleTimings(saga, 0.001)`.
 * `SagaEngine` applies its `timeScale` option this way.
 */
export function scaleTimings<D>(definition: SagaDefinition<D>, factor: number): SagaDefinition<D> {
  if (!(factor > 0)) throw new InvalidSagaDefinition(`time scale must be > 0, got ${factor}`);
  if (factor === 1) return definition;
  const scalePolicy = (policy: ResolvedRetryPolicy): ResolvedRetryPolicy => ({
    ...policy,
    backoffMs: policy.backoffMs * factor,
    maxBackoffMs: policy.maxBackoffMs * factor,
  });
  return {
    ...definition,
    timeScale: definition.timeScale * factor,
    steps: definition.steps.map((step) => ({
      ...step,
      timeoutMs: step.timeoutMs * factor,
      retry: scalePolicy(step.retry),
      compensationTimeoutMs: step.compensationTimeoutMs * factor,
      compensationRetry: scalePolicy(step.compensationRetry),
    })),
  };
}

function routesOf<D>(steps: readonly SagaStep<D>[]): Map<string, ReplyRoute[]> {
  const routes = new Map<string, ReplyRoute[]>();
  for (const step of steps) {
    for (const [leg, sent] of [
      ['forward', step.action],
      ['compensation', step.compensate],
    ] as const) {
      if (!sent) continue;
      for (const outcome of ['succeeded', 'failed'] as const) {
        const event = sent.command[outcome] as MessageDefinition;
        routes.set(event.type, [...(routes.get(event.type) ?? []), { step: step.name, leg, outcome, event }]);
      }
    }
  }
  return routes;
}

/** Every reply event the given sagas wait for, each once: a host subscribes its reply handler to these. */
export function repliesOf(definitions: readonly { readonly replies: readonly MessageDefinition[] }[]): MessageDefinition[] {
  return [...new Set(definitions.flatMap((definition) => definition.replies))];
}
