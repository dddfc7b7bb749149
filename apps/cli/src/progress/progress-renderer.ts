import type { SagaDetail, StepStateName, StepView } from '../admin/admin-views';
import { isTerminalStatus } from '../admin/admin-views';
import { type Colour, formatDuration, formatTable, type Paint, paintWith, printable } from '../terminal/terminal-text';

/**
 * Pure rendering of a saga's progress: the step table the live view redraws, and the
 * lines the plain (non-TTY) view appends when something changed. `now` is given so
 * a running step's elapsed time is a function of its input.
 */
export interface RenderOptions {
  readonly now: Date;
  readonly color?: boolean;
}

const STATE_COLOURS: Record<StepStateName, Colour> = {
  PENDING: 'grey',
  RUNNING: 'yellow',
  SUCCEEDED: 'green',
  FAILED: 'red',
  COMPENSATING: 'magenta',
  COMPENSATED: 'magenta',
  SKIPPED: 'grey',
};

export const STATUS_COLOURS: Record<string, Colour> = {
  RUNNING: 'yellow',
  COMPENSATING: 'magenta',
  COMPLETED: 'green',
  COMPENSATED: 'magenta',
  FAILED: 'red',
};

const time = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
};

const isActive = (step: StepView): boolean => step.state === 'RUNNING' || step.state === 'COMPENSATING';

/** A finished step's duration; a running one's elapsed time, marked with "…". */
export function stepDuration(step: StepView, now: Date): string {
  const started = time(step.startedAt);
  const finished = time(step.finishedAt);
  if (step.durationMs !== undefined && step.durationMs !== null && !isActive(step)) return formatDuration(step.durationMs);
  if (started !== null && finished !== null && !isActive(step)) return formatDuration(finished - started);
  if (started !== null && isActive(step)) return `${formatDuration(Math.max(0, now.getTime() - started))}…`;
  return '';
}

/** Attempts of the step, plus its compensation attempts once it is being undone. */
export function stepAttempts(step: StepView): string {
  const undo = step.compensationAttempts ?? 0;
  if (step.attempts === 0 && undo === 0) return '-';
  return undo > 0 ? `${step.attempts} (undo ${undo})` : String(step.attempts);
}

/** What an operator should notice about a step: its error, a pending re-send, an effect that may have landed. */
export function stepNote(step: StepView, now: Date): string {
  if (step.error) return printable(step.error).replace(/\s+/g, ' ');
  const deadline = time(step.deadlineAt);
  if (step.state === 'RUNNING' && step.deadlineKind === 'resend' && deadline !== null) {
    return `re-send in ${formatDuration(Math.max(0, deadline - now.getTime()))}`;
  }
  if (step.mayHaveTakenEffect && step.state !== 'SUCCEEDED') return 'may have taken effect';
  return '';
}

/** Steps grouped by stage (`position`), in the order the server lists them. */
export function stagesOf(steps: readonly StepView[]): StepView[][] {
  const stages = new Map<number, StepView[]>();
  for (const step of steps) stages.set(step.position, [...(stages.get(step.position) ?? []), step]);
  return [...stages.entries()].sort(([left], [right]) => left - right).map(([, group]) => group);
}

/** The bracket that ties the steps of one parallel group together. */
const groupMark = (index: number, size: number): string => {
  if (size === 1) return ' ';
  if (index === 0) return '┌';
  return index === size - 1 ? '└' : '├';
};

export function sagaElapsed(detail: SagaDetail, now: Date): string {
  const created = time(detail.createdAt);
  if (created === null) return '';
  const end = isTerminalStatus(detail.status) ? (time(detail.updatedAt) ?? now.getTime()) : now.getTime();
  return formatDuration(Math.max(0, end - created));
}

/** The step table: one row per step, the steps of a parallel stage bracketed together. */
export function renderStepTable(detail: SagaDetail, options: RenderOptions): string[] {
  const paint = paintWith(options.color ?? false);
  const rows: string[][] = [];
  for (const stage of stagesOf(detail.steps)) {
    stage.forEach((step, index) => {
      rows.push([
        `${groupMark(index, stage.length)} ${printable(step.name)}`,
        paint(STATE_COLOURS[step.state] ?? 'bold', step.state),
        stepAttempts(step),
        stepDuration(step, options.now),
        paint(step.error ? 'red' : 'dim', stepNote(step, options.now)),
      ]);
    });
  }
  return formatTable(
    [{ title: '  STEP' }, { title: 'STATE' }, { title: 'ATTEMPTS', align: 'right' }, { title: 'DURATION', align: 'right' }, { title: 'NOTE' }],
    rows,
    paint,
  );
}

function headline(detail: SagaDetail, paint: Paint, now: Date): string {
  const site = detail.siteName ? ` ${printable(detail.siteName)}` : '';
  return `${paint('bold', `${printable(detail.type)}${site}`)}  ${paint(STATUS_COLOURS[detail.status] ?? 'bold', detail.status)}  ${sagaElapsed(detail, now)}  ${paint('dim', `saga ${detail.id}`)}`;
}

/** How the saga ended, or what it is doing now. */
export function outcomeLine(detail: SagaDetail, paint: Paint = paintWith(false)): string | null {
  const failure = detail.failure;
  switch (detail.status) {
    case 'COMPLETED':
      return paint('green', 'completed: every step succeeded');
    case 'COMPENSATED': {
      const undone = detail.steps.filter((step) => step.state === 'COMPENSATED').length;
      const why = !failure
        ? 'stopped'
        : failure.cause === 'aborted'
          ? `aborted at ${printable(failure.failedStep)} (${printable(failure.reason)})`
          : `${printable(failure.failedStep)} failed (${printable(failure.reason)})`;
      return paint('magenta', `compensated: ${why}; ${undone === 0 ? 'nothing needed undoing' : `${undone} step${undone === 1 ? '' : 's'} undone`}`);
    }
    case 'FAILED': {
      const stuck = (failure?.stuck ?? []).map((entry) => `${printable(entry.step)}: ${printable(entry.reason)}`).join('; ');
      return paint('red', `FAILED: a compensation could not finish${stuck ? ` (${stuck})` : ''}; fix the cause, then: saga retry ${detail.id}`);
    }
    case 'COMPENSATING':
      return paint('magenta', `compensating: ${failure ? `${printable(failure.failedStep)} failed (${printable(failure.reason)})` : 'undoing'}`);
    default:
      return null;
  }
}

/** The whole live view: headline, step table, and the outcome once there is one. */
export function renderProgress(detail: SagaDetail, options: RenderOptions): string[] {
  const paint = paintWith(options.color ?? false);
  const outcome = outcomeLine(detail, paint);
  return [headline(detail, paint, options.now), ...renderStepTable(detail, options), ...(outcome ? [outcome] : [])];
}

/**
 * For output that is not a terminal (a pipe, a CI log): one line per change since
 * `previous` (a step's state or attempts, the saga's status), prefixed with the time
 * since the saga started.
 */
export function progressChanges(previous: SagaDetail | null, current: SagaDetail, now: Date): string[] {
  const created = time(current.createdAt) ?? now.getTime();
  const at = `+${formatDuration(Math.max(0, now.getTime() - created)) || '0ms'}`;
  const lines: string[] = [];
  if (!previous) {
    lines.push(`${at}  saga ${current.id} ${printable(current.type)}${current.siteName ? ` ${printable(current.siteName)}` : ''}: ${current.status}`);
  }
  const before = new Map((previous?.steps ?? []).map((step) => [step.name, step]));
  for (const step of current.steps) {
    const old = before.get(step.name);
    const changed = old ? old.state !== step.state || old.attempts !== step.attempts || (old.compensationAttempts ?? 0) !== (step.compensationAttempts ?? 0) : step.state !== 'PENDING';
    if (!changed) continue;
    const facts = [
      step.attempts > 0 ? `attempt ${step.attempts}` : '',
      (step.compensationAttempts ?? 0) > 0 ? `undo attempt ${step.compensationAttempts}` : '',
      isActive(step) ? '' : stepDuration(step, now),
      stepNote(step, now),
    ].filter(Boolean);
    lines.push(`${at}  ${printable(step.name)} ${step.state}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`);
  }
  if (previous && previous.status !== current.status) lines.push(`${at}  saga ${current.status}`);
  return lines;
}
