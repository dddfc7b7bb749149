import type { RehearsalPlan } from './rehearsal-cases';
import type { CaseResult } from './rehearsal-runner';

const pad = (text: string, width: number): string => (text.length >= width ? text : text + ' '.repeat(width - text.length));

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : pad(cell, widths[column]!))).join('  ').trimEnd());
}

/** `COMPENSATED (failed ProvisionStorage; compensated ReserveSite, ProvisionDatabase)`. */
export function actualSummary(result: CaseResult): string {
  if (!result.actual) return 'not seen';
  const by = (state: string) =>
    Object.entries(result.actual!.steps)
      .filter(([, step]) => step.state === state)
      .map(([name]) => name);
  const parts = [
    ['failed', by('FAILED')],
    ['compensated', by('COMPENSATED')],
    ['still running', [...by('RUNNING'), ...by('COMPENSATING')]],
  ]
    .filter(([, names]) => names!.length > 0)
    .map(([label, names]) => `${label as string} ${(names as string[]).join(', ')}`);
  return `${result.actual.status}${parts.length > 0 ? ` (${parts.join('; ')})` : ''}`;
}

const effectsSummary = (result: CaseResult): string =>
  result.effects
    ? Object.entries(result.effects.seen)
        .map(([resource, seen]) => `${resource} ${seen}`)
        .join(', ')
    : '-';

/** The table `saga rehearse` prints: one row per case, then what diverged, then the count. */
export function rehearsalReport(plan: RehearsalPlan, results: readonly CaseResult[]): string[] {
  const rows = [
    ['case', 'expected', 'actual', 'effects left', 'converged', 'verdict'],
    ...results.map((result) => [
      result.rehearsal.id,
      result.rehearsal.expected.status,
      actualSummary(result),
      effectsSummary(result),
      result.convergedMs === null ? '-' : `${(result.convergedMs / 1000).toFixed(1)} s`,
      result.divergences.length === 0 ? 'ok' : 'DIVERGED',
    ]),
  ];
  const diverged = results.filter((result) => result.divergences.length > 0);
  return [
    ...table(rows),
    ...(plan.skipped.length > 0 ? ['', 'not rehearsed:', ...plan.skipped.map((skipped) => `  ${skipped.id}: ${skipped.reason}`)] : []),
    ...(diverged.length > 0
      ? ['', 'diverged:', ...diverged.flatMap((result) => [`  ${result.rehearsal.id}${result.sagaId ? ` (saga ${result.sagaId})` : ''}`, ...result.divergences.map((line) => `    - ${line}`)])]
      : []),
    '',
    `${plan.sagaType}: ${results.length - diverged.length} of ${results.length} cases as expected${diverged.length > 0 ? `, ${diverged.length} diverged` : ''}`,
  ];
}

/** With --json: one line per case, as data. */
export const resultJson = (result: CaseResult): Record<string, unknown> => ({
  case: result.rehearsal.id,
  sagaType: result.rehearsal.sagaType,
  kind: result.rehearsal.kind,
  leg: result.rehearsal.leg,
  step: result.rehearsal.step,
  sagaId: result.sagaId,
  siteId: result.subject,
  expected: result.rehearsal.expected,
  actual: result.actual,
  effects: result.effects?.seen ?? null,
  convergedMs: result.convergedMs,
  ok: result.divergences.length === 0,
  divergences: result.divergences,
});
