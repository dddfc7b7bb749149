import { randomUUID } from 'node:crypto';
import type { Causation, Envelope, Failure } from '@sitesaga/message-kit';
import type { OutcomeContext, OutgoingMessage, ReplyRoute, SagaDefinition, SagaStep, Send } from './define-saga';
import { SagaTransitionRefused, UnroutableReply } from './errors';
import { backoffDelay } from './retry-policy';
import { type HistoryEntry, isTerminal, pendingStep, type SagaFailure, type SagaState, type SagaStatus, type StepState } from './saga-state';

/** The message that starts a saga (e.g. a `CreateSite` command): its id is the causation of the first commands. */
export interface SagaCause {
  readonly id: string;
  readonly type: string;
  readonly correlationId: string;
  /** Where it came from, for the history; null when not from Kafka. */
  readonly topic?: string | null;
}

/** Everything that can move a saga. */
export type SagaInput<D> =
  /** `waitFor`: the saga holding its exclusion key; it is recorded waiting (nothing sent) until `begin`. */
  | { readonly kind: 'start'; readonly sagaId: string; readonly data: D; readonly cause: SagaCause; readonly waitFor?: string | null }
  /** The saga it waited for (`holder`) ended: a waiting saga begins (its first stage, its `onStarted`). */
  | { readonly kind: 'begin'; readonly holder: string; readonly causeId: string | null }
  /**
   * A participant's event. `duringOutage`: the host saw its plumbing (broker, consumer,
   * database) out lately, so a transient failure is the outage's doing, not the step's:
   * it is retried without spending the step's attempts.
   */
  | { readonly kind: 'reply'; readonly envelope: Envelope; readonly duringOutage?: boolean }
  /** A persisted step deadline passed. */
  | { readonly kind: 'deadline'; readonly step: string }
  /** Operator: re-send what the saga waits for now (fresh attempts); resume a FAILED saga's compensations. */
  | { readonly kind: 'retry'; readonly requestId?: string | null }
  /** Operator: compensate a RUNNING saga. */
  | { readonly kind: 'abort'; readonly reason: string; readonly requestId?: string | null };

export interface Decision<D> {
  readonly state: SagaState<D>;
  /** Commands and outcome events to publish in the same transaction as `state`. */
  readonly outgoing: readonly Envelope[];
  /** What to append to the saga's history: the input (when a message or operator action) and every outgoing message. */
  readonly history: readonly HistoryEntry[];
  /** Why the input changed nothing (a late duplicate, a stale deadline); `state` is then the input state itself. */
  readonly ignored: string | null;
}

export interface DecideOptions {
  /** Id of each outgoing message (default: random UUIDs). */
  readonly newId?: () => string;
  /** In [0, 1): the jitter of backoffs (default: Math.random). */
  readonly random?: () => number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Route<D> = Omit<ReplyRoute, 'step'> & { readonly step: SagaStep<D> };

/**
 * The whole saga logic, pure: given a definition, the current state (null before start),
 * one input and the time, returns the next state and the messages to send. It does no
 * I/O; `SagaEngine` loads, calls this, saves with a version check and publishes.
 * Throws SagaTransitionRefused for an operator action that makes no sense in the state,
 * and UnroutableReply for an event that answers no command of the definition.
 */
export function decide<D>(definition: SagaDefinition<D>, state: SagaState<D> | null, input: SagaInput<D>, now: Date, options: DecideOptions = {}): Decision<D> {
  if (input.kind === 'start') {
    if (state) throw new SagaTransitionRefused(state.id, 'start', state.status);
    const transition = new Transition(
      definition,
      initialState(definition, input.sagaId, input.data, input.cause.correlationId, now),
      now,
      options,
      input.cause.id,
    );
    transition.record({ direction: 'in', topic: input.cause.topic ?? null, messageId: input.cause.id, type: input.cause.type, step: null });
    return input.waitFor ? transition.wait(input.waitFor) : transition.start();
  }
  if (!state) throw new Error(`decide(${input.kind}) needs the saga's state`);
  switch (input.kind) {
    case 'begin':
      // Only a saga that never began (running, nothing sent) can begin: anything else (an operator aborted it meanwhile) stays as it is.
      if (state.status !== 'RUNNING' || state.steps.some((step) => step.state !== 'PENDING')) {
        return { state, outgoing: [], history: [], ignored: `saga is ${state.status} and has begun` };
      }
      // Its first commands are caused by the message that asked for the saga, as if it had not waited.
      return new Transition(definition, state, now, options, input.causeId).begin(input.holder);
    case 'reply':
      return new Transition(definition, state, now, options, input.envelope.id).reply(input.envelope, input.duringOutage === true);
    case 'deadline': {
      const step = state.steps.find((candidate) => candidate.name === input.step);
      // A deadline read before a reply moved the step on: nothing to do, nothing to record.
      if (!step || step.deadlineAt === null || step.deadlineAt.getTime() > now.getTime()) {
        return { state, outgoing: [], history: [], ignored: `no passed deadline on ${input.step}` };
      }
      // A deadline left on a step that waits for nothing (an ended saga): cleared, or it would come back every sweep.
      if (isTerminal(state.status) || (step.state !== 'RUNNING' && step.state !== 'COMPENSATING')) {
        return new Transition(definition, state, now, options, null).clearDeadline(input.step);
      }
      return new Transition(definition, state, now, options, step.lastMessageId).deadline(input.step);
    }
    case 'retry':
      return new Transition(definition, state, now, options, input.requestId ?? null).retry();
    case 'abort':
      return new Transition(definition, state, now, options, input.requestId ?? null).abort(input.reason);
  }
}

function initialState<D>(definition: SagaDefinition<D>, id: string, data: D, correlationId: string, now: Date): SagaState<D> {
  return {
    id,
    type: definition.type,
    status: 'RUNNING',
    version: 1,
    definitionVersion: definition.version,
    waitingFor: null,
    data,
    failure: null,
    correlationId,
    searchKey: definition.searchKey(data),
    createdAt: now,
    updatedAt: now,
    steps: definition.steps.map((step) => pendingStep(step.name, step.position)),
  };
}

/** One decision in progress: a private working copy of the state, changed in place, returned as a new state. */
class Transition<D> {
  private status: SagaStatus;
  private data: D;
  private failure: SagaFailure | null;
  private waitingFor: string | null;
  private readonly steps: Mutable<StepState>[];
  private readonly outgoing: Envelope[] = [];
  private readonly history: HistoryEntry[] = [];
  private readonly newId: () => string;
  private readonly random: () => number;

  constructor(
    private readonly definition: SagaDefinition<D>,
    private readonly original: SagaState<D>,
    private readonly now: Date,
    options: DecideOptions,
    /** Id of the message that caused this decision: the causationId of everything it sends. */
    private readonly causationId: string | null,
  ) {
    this.status = original.status;
    this.data = original.data;
    this.failure = original.failure;
    this.waitingFor = original.waitingFor;
    // Rows follow the definition: a step added to a definition later starts PENDING in old sagas.
    this.steps = definition.steps.map((step) => ({
      ...(original.steps.find((row) => row.name === step.name) ?? pendingStep(step.name, step.position)),
      position: step.position,
    }));
    this.newId = options.newId ?? randomUUID;
    this.random = options.random ?? Math.random;
  }

  record(entry: Omit<HistoryEntry, 'at'>): void {
    this.history.push({ ...entry, at: this.now });
  }

  start(): Decision<D> {
    this.emit(this.definition.onStarted?.(this.data, this.context()) ?? []);
    this.startStage(0);
    return this.done();
  }

  /** Recorded as waiting for `holder` (its exclusion key is taken): nothing is sent, no deadline is set. */
  wait(holder: string): Decision<D> {
    this.record({ direction: 'in', topic: null, messageId: holder, type: 'WaitingForSaga', step: null });
    this.waitingFor = holder;
    return this.done();
  }

  begin(holder: string): Decision<D> {
    this.record({ direction: 'in', topic: null, messageId: holder, type: 'ExclusionReleased', step: null });
    this.waitingFor = null;
    return this.start();
  }

  reply(envelope: Envelope, duringOutage = false): Decision<D> {
    const route = this.routeOf(envelope.type);
    // Not a reply to anything this saga sends: a routing error, never silently dropped.
    if (!route) throw new UnroutableReply(this.definition.type, envelope.type);
    this.record({ direction: 'in', topic: route.event.topic, messageId: envelope.id, type: envelope.type, step: route.step.name });
    if (isTerminal(this.status)) return this.ignore(`saga is ${this.status}`);
    const step = this.stepState(route.step.name);
    const waitingFor = route.leg === 'forward' ? 'RUNNING' : 'COMPENSATING';
    if (step.state !== waitingFor) return this.ignore(`${step.name} is ${step.state}: not waiting for ${envelope.type}`);
    const payload = route.event.parse(envelope).payload;

    if (route.outcome === 'succeeded') {
      // A success counts whichever send it answers: the effect happened.
      if (route.leg === 'forward') this.succeed(route.step, step, payload);
      else this.compensated(step);
      return this.done();
    }
    const failure = payload as Failure;
    const answersEarlierSend = envelope.causationId !== null && step.lastMessageId !== null && envelope.causationId !== step.lastMessageId;
    if (route.leg === 'forward' && failure.class === 'business') {
      // A refusal speaks for the send it answers only: a later send of the step may have
      // succeeded (or may yet), so a stale refusal decides nothing.
      if (answersEarlierSend) return this.ignore(`${envelope.type} answers an earlier send of ${step.name}`);
      this.finish(step, 'FAILED', failure.reason);
      const reasons = failure.reasons && failure.reasons.length > 0 ? { reasons: [...failure.reasons] } : {};
      // The refused send did nothing; an earlier send that never got a definitive answer may
      // have, so the step is undone too (an undo of what never happened is a success).
      step.mayHaveTakenEffect = step.attempts > 1;
      this.beginCompensation({ failedStep: step.name, reason: failure.reason, cause: 'business', stuck: [], ...reasons });
      return this.done();
    }
    // A transient failure of an earlier send (the step is backing off, or a later send is out) was already counted.
    if (step.deadlineKind !== 'reply' || answersEarlierSend) {
      return this.ignore(`${envelope.type} answers an earlier send of ${step.name}`);
    }
    if (route.leg === 'forward') this.retryOrGiveUp(route.step, step, failure.reason, duringOutage);
    else this.retryCompensationOrGiveUp(route.step, step, failure.reason, duringOutage);
    return this.done();
  }

  deadline(name: string): Decision<D> {
    const definitionStep = this.definitionStep(name);
    const step = this.stepState(name);
    if (step.state !== 'RUNNING' && step.state !== 'COMPENSATING') return this.ignore(`${name} is ${step.state}: no deadline`);
    this.record({ direction: 'in', topic: null, messageId: null, type: 'DeadlinePassed', step: name });
    if (step.state === 'RUNNING') {
      if (step.deadlineKind === 'resend') this.sendForward(definitionStep, step);
      else this.retryOrGiveUp(definitionStep, step, `no reply within ${definitionStep.timeoutMs} ms`);
    } else {
      if (step.deadlineKind === 'resend') this.sendCompensation(definitionStep, step);
      else this.retryCompensationOrGiveUp(definitionStep, step, `no reply within ${definitionStep.compensationTimeoutMs} ms`);
    }
    return this.done();
  }

  /** Clears a deadline that no longer guards anything; records nothing, sends nothing. */
  clearDeadline(name: string): Decision<D> {
    const step = this.stepState(name);
    step.deadlineAt = null;
    step.deadlineKind = null;
    return this.done();
  }

  retry(): Decision<D> {
    const resend = (state: 'RUNNING' | 'COMPENSATING' | 'FAILED') =>
      this.steps.filter((step) => step.state === state && (state !== 'FAILED' || step.compensationAttempts > 0));
    this.record({ direction: 'in', topic: null, messageId: this.causationId, type: 'RetryRequested', step: null });
    if (this.status === 'FAILED' && !this.steps.some((step) => step.compensationAttempts > 0)) {
      // Stopped going forward (a `whenExhausted: 'stop'` saga, or one set aside), nothing undone: go on from where it stopped.
      this.status = 'RUNNING';
      this.failure = null;
      this.resumeForward();
    } else if (this.status === 'RUNNING') {
      for (const step of resend('RUNNING')) {
        step.attempts = 0; // an operator's retry grants a fresh budget
        this.sendForward(this.definitionStep(step.name), step);
      }
    } else if (this.status === 'COMPENSATING' || this.status === 'FAILED') {
      const stuck = resend(this.status === 'FAILED' ? 'FAILED' : 'COMPENSATING');
      this.status = 'COMPENSATING';
      if (this.failure) this.failure = { ...this.failure, stuck: [] };
      for (const step of stuck) {
        step.compensationAttempts = 0;
        this.sendCompensation(this.definitionStep(step.name), step);
      }
      this.advanceCompensation();
    } else {
      throw new SagaTransitionRefused(this.original.id, 'retry', this.status);
    }
    return this.done();
  }

  abort(reason: string): Decision<D> {
    if (this.status !== 'RUNNING') throw new SagaTransitionRefused(this.original.id, 'abort', this.status);
    this.record({ direction: 'in', topic: null, messageId: this.causationId, type: 'AbortRequested', step: null });
    const current = this.steps.find((step) => step.state === 'RUNNING') ?? this.steps.find((step) => step.state !== 'SUCCEEDED');
    this.beginCompensation({ failedStep: current?.name ?? this.definition.type, reason: `aborted: ${reason}`, cause: 'aborted', stuck: [] });
    return this.done();
  }

  // ---- forward ----

  /** Sends afresh every unfinished step of the earliest unfinished stage (an operator's retry grants a fresh budget). */
  private resumeForward(): void {
    const unfinished = this.steps.filter((step) => step.state !== 'SUCCEEDED');
    if (unfinished.length === 0) {
      this.status = 'COMPLETED';
      this.emit(this.definition.onCompleted?.(this.data, this.context()) ?? []);
      return;
    }
    const position = Math.min(...unfinished.map((step) => step.position));
    for (const step of unfinished) {
      if (step.position !== position) continue;
      step.attempts = 0;
      step.mayHaveTakenEffect = false;
      step.finishedAt = null;
      step.error = null;
      this.sendForward(this.definitionStep(step.name), step);
    }
  }

  private startStage(position: number): void {
    for (const step of this.definition.steps) {
      if (step.position === position) this.sendForward(step, this.stepState(step.name));
    }
  }

  private sendForward(definitionStep: SagaStep<D>, step: Mutable<StepState>): void {
    const id = this.send(definitionStep.action, definitionStep.name);
    step.state = 'RUNNING';
    step.attempts += 1;
    step.startedAt ??= this.now;
    step.deadlineAt = this.after(definitionStep.timeoutMs);
    step.deadlineKind = 'reply';
    step.lastMessageId = id;
  }

  private succeed(definitionStep: SagaStep<D>, step: Mutable<StepState>, payload: unknown): void {
    this.finish(step, 'SUCCEEDED', null);
    if (definitionStep.onSucceeded) this.data = definitionStep.onSucceeded(this.data, payload);
    // The join: a stage is done when every one of its persisted step rows says SUCCEEDED.
    const stage = this.steps.filter((candidate) => candidate.position === step.position);
    if (!stage.every((candidate) => candidate.state === 'SUCCEEDED')) return;
    if (step.position + 1 < this.definition.stageCount) {
      this.startStage(step.position + 1);
    } else {
      this.status = 'COMPLETED';
      this.emit(this.definition.onCompleted?.(this.data, this.context()) ?? []);
    }
  }

  /** `free`: the failure is an outage's, not the step's: the send it answers is not counted. */
  private retryOrGiveUp(definitionStep: SagaStep<D>, step: Mutable<StepState>, reason: string, free = false): void {
    step.error = free ? `${reason} (during an outage: not counted)` : reason;
    if (free) step.attempts = Math.max(0, step.attempts - 1); // the send the outage failed does not count
    if (step.attempts < definitionStep.retry.maxAttempts) {
      this.backOff(step, backoffDelay(definitionStep.retry, step.attempts, this.random));
      return;
    }
    // Sent, and never a definitive answer: it may have taken effect, so it is undone too.
    this.finish(step, 'FAILED', `${reason} (gave up after ${step.attempts} attempts)`);
    step.mayHaveTakenEffect = true;
    if (this.definition.whenExhausted === 'stop') {
      this.stopForAttention(step, reason);
      return;
    }
    this.beginCompensation({ failedStep: step.name, reason: step.error ?? reason, cause: 'exhausted', stuck: [] });
  }

  /**
   * A saga that cannot be undone ends FAILED where it stands and asks a person; an
   * operator's retry goes on forward. Siblings still waiting keep their state (sent, no
   * answer) but lose their deadlines: nothing more happens until the retry.
   */
  private stopForAttention(step: Mutable<StepState>, reason: string): void {
    this.status = 'FAILED';
    this.failure = { failedStep: step.name, reason, cause: 'exhausted', stuck: [{ step: step.name, reason: step.error ?? reason }] };
    for (const sibling of this.steps) {
      if (sibling.state === 'RUNNING') {
        sibling.deadlineAt = null;
        sibling.deadlineKind = null;
      }
    }
    this.emit(
      this.definition.onNeedsAttention?.(
        this.data,
        { step: step.name, reason: step.error ?? reason, failedStep: step.name, failedReason: reason },
        this.context(),
      ) ?? [],
    );
  }

  // ---- compensation ----

  private beginCompensation(failure: SagaFailure): void {
    this.status = 'COMPENSATING';
    this.failure = failure;
    for (const step of this.steps) {
      if (step.state === 'PENDING') {
        step.state = 'SKIPPED';
      } else if (step.state === 'RUNNING') {
        // A sibling still waiting: maybe done. Undoing it is safe because its undo goes to the
        // same participant with the same Kafka key (the saga id), so it is processed after it.
        this.finish(step, 'FAILED', failure.cause === 'aborted' ? failure.reason : `given up: ${failure.failedStep} failed`);
        step.mayHaveTakenEffect = true;
      }
    }
    this.advanceCompensation();
  }

  private needsCompensation(step: StepState): boolean {
    return (
      this.definitionStep(step.name).compensate !== null &&
      step.compensationAttempts === 0 &&
      (step.state === 'SUCCEEDED' || (step.state === 'FAILED' && step.mayHaveTakenEffect))
    );
  }

  /** Undoes the latest stage that has something to undo, once nothing is being undone; ends the saga when all is undone. */
  private advanceCompensation(): void {
    if (this.steps.some((step) => step.state === 'COMPENSATING')) return;
    const stuck = this.steps.filter((step) => step.state === 'FAILED' && step.compensationAttempts > 0);
    if (stuck.length > 0) {
      // Undoing earlier stages while a later one is not undone would break reverse order: stop and flag.
      const failure = this.failure ?? { failedStep: '(unknown)', reason: '(unknown)', cause: 'exhausted' as const, stuck: [] };
      this.status = 'FAILED';
      this.failure = { ...failure, stuck: stuck.map((step) => ({ step: step.name, reason: step.error ?? '(unknown)' })) };
      for (const { step, reason } of this.failure.stuck) {
        this.emit(
          this.definition.onNeedsAttention?.(this.data, { step, reason, failedStep: failure.failedStep, failedReason: failure.reason }, this.context()) ?? [],
        );
      }
      return;
    }
    const toUndo = this.steps.filter((step) => this.needsCompensation(step));
    if (toUndo.length === 0) {
      this.status = 'COMPENSATED';
      const failure = this.failure;
      this.emit(
        this.definition.onCompensated?.(
          this.data,
          {
            failedStep: failure?.failedStep ?? '(unknown)',
            reason: failure?.reason ?? '(unknown)',
            aborted: failure?.cause === 'aborted',
            ...(failure?.reasons ? { reasons: failure.reasons } : {}),
            cause: failure === null || failure.cause === 'quarantined' ? 'exhausted' : failure.cause,
          },
          this.context(),
        ) ?? [],
      );
      return;
    }
    const latest = Math.max(...toUndo.map((step) => step.position));
    for (const step of toUndo) {
      if (step.position === latest) this.sendCompensation(this.definitionStep(step.name), step);
    }
  }

  private sendCompensation(definitionStep: SagaStep<D>, step: Mutable<StepState>): void {
    if (!definitionStep.compensate) throw new Error(`${definitionStep.name} has no compensation`);
    const id = this.send(definitionStep.compensate, definitionStep.name);
    step.state = 'COMPENSATING';
    step.compensationAttempts += 1;
    step.deadlineAt = this.after(definitionStep.compensationTimeoutMs);
    step.deadlineKind = 'reply';
    step.lastMessageId = id;
  }

  private compensated(step: Mutable<StepState>): void {
    this.finish(step, 'COMPENSATED', null);
    this.advanceCompensation();
  }

  /** Compensations are idempotent, so failures of either class are retried until attempts run out. */
  private retryCompensationOrGiveUp(definitionStep: SagaStep<D>, step: Mutable<StepState>, reason: string, free = false): void {
    step.error = free ? `${reason} (during an outage: not counted)` : reason;
    if (free) step.compensationAttempts = Math.max(1, step.compensationAttempts - 1); // stays > 0: it marks a compensation begun
    if (step.compensationAttempts < definitionStep.compensationRetry.maxAttempts) {
      this.backOff(step, backoffDelay(definitionStep.compensationRetry, step.compensationAttempts, this.random));
      return;
    }
    this.finish(step, 'FAILED', `compensation: ${reason} (gave up after ${step.compensationAttempts} attempts)`);
    this.advanceCompensation();
  }

  // ---- plumbing ----

  private backOff(step: Mutable<StepState>, delayMs: number): void {
    step.deadlineAt = this.after(delayMs);
    step.deadlineKind = 'resend';
  }

  private finish(step: Mutable<StepState>, state: 'SUCCEEDED' | 'FAILED' | 'COMPENSATED', error: string | null): void {
    step.state = state;
    step.finishedAt = this.now;
    step.deadlineAt = null;
    step.deadlineKind = null;
    step.error = error;
  }

  /** Builds a command with a new id every time: participants dedupe by id, so a re-send must not look like a duplicate. */
  private send(sent: Send<D>, stepName: string): string {
    const envelope = sent.command.create(sent.payload(this.data), this.causation(), { id: this.newId(), occurredAt: this.now });
    this.outgoing.push(envelope);
    this.record({ direction: 'out', topic: sent.command.topic, messageId: envelope.id, type: envelope.type, step: stepName });
    return envelope.id;
  }

  private emit(messages: readonly OutgoingMessage[]): void {
    for (const message of messages) {
      const envelope = message.definition.create(message.payload, this.causation(), { id: this.newId(), occurredAt: this.now });
      this.outgoing.push(envelope);
      this.record({ direction: 'out', topic: message.definition.topic, messageId: envelope.id, type: envelope.type, step: null });
    }
  }

  private causation(): Causation {
    return { sagaId: this.original.id, correlationId: this.original.correlationId, causationId: this.causationId };
  }

  private context(): OutcomeContext {
    return { sagaId: this.original.id, sagaType: this.definition.type, correlationId: this.original.correlationId, now: this.now };
  }

  private after(ms: number): Date {
    return new Date(this.now.getTime() + Math.round(ms));
  }

  private definitionStep(name: string): SagaStep<D> {
    const step = this.definition.steps.find((candidate) => candidate.name === name);
    if (!step) throw new Error(`${this.definition.type} has no step ${name}`);
    return step;
  }

  private stepState(name: string): Mutable<StepState> {
    const step = this.steps.find((candidate) => candidate.name === name);
    if (!step) throw new Error(`${this.definition.type} has no step ${name}`);
    return step;
  }

  /**
   * Which step and leg an event answers, by the definition's static routes. A step waiting
   * for that event wins; otherwise the first step whose command it answers (for the history only).
   */
  private routeOf(type: string): Route<D> | null {
    const candidates = this.definition.routes.get(type) ?? [];
    const routes = candidates.map((route) => ({ ...route, step: this.definitionStep(route.step) }));
    return routes.find((route) => this.stepState(route.step.name).state === (route.leg === 'forward' ? 'RUNNING' : 'COMPENSATING')) ?? routes[0] ?? null;
  }

  private ignore(reason: string): Decision<D> {
    return { state: this.original, outgoing: [], history: this.history, ignored: reason };
  }

  private done(): Decision<D> {
    return {
      state: {
        ...this.original,
        status: this.status,
        data: this.data,
        failure: this.failure,
        waitingFor: this.waitingFor,
        searchKey: this.definition.searchKey(this.data),
        updatedAt: this.now,
        steps: this.steps.map((step) => ({ ...step })),
      },
      outgoing: this.outgoing,
      history: this.history,
      ignored: null,
    };
  }
}
