import { causedBy, type Envelope, type FailureClass } from '@sitesaga/message-kit';
import { type Decision, decide, type SagaInput } from './decide';
import type { AnyCommand, SagaDefinition } from './define-saga';
import type { SagaState, StepState } from './saga-state';

/**
 * Drives `decide` like a conversation, with no broker and no database: a fake clock,
 * counted message ids, and replies built from the commands the saga really sent (as
 * Eventuate's saga unit tests script command → reply). `replyFields` are the fields every
 * reply of the domain carries (e.g. the id of what the saga works on).
 */
export class SagaScript<D> {
  state: SagaState<D> | null = null;
  now: Date;
  last: Decision<D> | null = null;
  /** Everything the saga sent so far, in order. */
  readonly sent: Envelope[] = [];
  private ids = 0;

  constructor(
    private readonly definition: SagaDefinition<D>,
    private readonly replyFields: (data: D) => Record<string, unknown> = () => ({}),
    start = new Date('2024-11-23T10:00:00.000Z'),
  ) {
    this.now = start;
  }

  readonly newId = (): string => `00000000-0000-4000-8000-${String(++this.ids).padStart(12, '0')}`;

  get saga(): SagaState<D> {
    if (!this.state) throw new Error('the saga has not started');
    return this.state;
  }

  /** Types of the messages the last input sent. */
  justSent(): string[] {
    return (this.last?.outgoing ?? []).map((envelope) => envelope.type);
  }

  lastSent(type: string): Envelope {
    const envelope = [...this.sent].reverse().find((candidate) => candidate.type === type);
    if (!envelope) throw new Error(`${type} was never sent`);
    return envelope;
  }

  step(name: string): StepState {
    const step = this.saga.steps.find((candidate) => candidate.name === name);
    if (!step) throw new Error(`no step ${name}`);
    return step;
  }

  input(input: SagaInput<D>): Decision<D> {
    this.last = decide(this.definition, this.state, input, this.now, { newId: this.newId, random: () => 0.5 });
    this.state = this.last.state;
    this.sent.push(...this.last.outgoing);
    return this.last;
  }

  start(
    data: D,
    sagaId = 'aaaaaaaa-0000-4000-8000-000000000001',
    cause = { id: 'request-1', type: this.definition.type, correlationId: 'correlation-1', topic: null as string | null },
  ): Decision<D> {
    return this.input({ kind: 'start', sagaId, data, cause });
  }

  /** The participant answers the last `command` the saga sent with its success event. */
  succeed(command: AnyCommand, extra: Record<string, unknown> = {}): Decision<D> {
    return this.input({ kind: 'reply', envelope: this.replyTo(command, 'succeeded', { ...this.replyFields(this.saga.data), ...extra }) });
  }

  /** The participant answers the last `command` the saga sent with its failure event. */
  fail(command: AnyCommand, failureClass: FailureClass, reason: string, reasons?: readonly { field: string; message: string }[]): Decision<D> {
    const failure = { ...this.replyFields(this.saga.data), reason, class: failureClass, ...(reasons ? { reasons } : {}) };
    return this.input({ kind: 'reply', envelope: this.replyTo(command, 'failed', failure) });
  }

  replyTo(command: AnyCommand, outcome: 'succeeded' | 'failed', payload: unknown): Envelope {
    const definition = command[outcome];
    return definition.create(payload as never, causedBy(this.lastSent(command.type)), { id: this.newId(), occurredAt: this.now });
  }

  /**
   * The participant fails `command` with a transient error on every send until `attempts`
   * sends are spent: after each failure but the last, the backoff passes (`step`'s deadline)
   * and the saga sends it again.
   */
  exhaust(command: AnyCommand, step: string, attempts: number, reason = 'connection refused'): Decision<D> {
    for (let attempt = 1; attempt < attempts; attempt++) {
      this.fail(command, 'transient', reason);
      this.passDeadline(step);
    }
    return this.fail(command, 'transient', reason);
  }

  /** Moves the clock to the step's deadline and fires it. */
  passDeadline(step: string): Decision<D> {
    const deadline = this.step(step).deadlineAt;
    if (!deadline) throw new Error(`${step} has no deadline`);
    this.now = deadline;
    return this.input({ kind: 'deadline', step });
  }

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }
}
