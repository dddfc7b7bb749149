import type { HistoryView, SagaDetail, SagaPage, SagaStats, SagaSummary } from '../admin/admin-views';
import { SAGA_STATUSES } from '../admin/admin-views';
import { outcomeLine, renderStepTable, sagaElapsed, STATUS_COLOURS } from '../progress/progress-renderer';
import { formatAge, formatDuration, formatTable, paintWith, printable } from '../terminal/terminal-text';

/** Pure text of the read commands: list, show, stats and tail. */
export interface ViewOptions {
  readonly now: Date;
  readonly color?: boolean;
}

const offset = (from: string, at: string): string => {
  const ms = Date.parse(at) - Date.parse(from);
  return Number.isFinite(ms) ? `+${formatDuration(Math.max(0, ms)) || '0ms'}` : printable(at);
};

/** Where the saga is; a saga waiting for another of its key (docs/adr/0008) or on a version not deployed (docs/adr/0007) says so. */
const stepInfo = (summary: SagaSummary): string =>
  [
    summary.waitingFor ? `waiting for saga ${summary.waitingFor}` : '',
    summary.failedStep ? `failed at ${printable(summary.failedStep)}` : summary.currentStep ? `at ${printable(summary.currentStep)}` : '',
    summary.versionDeployed === false ? `(version ${summary.definitionVersion} not deployed)` : '',
  ]
    .filter(Boolean)
    .join(' ');

/** `saga list`. */
export function renderSagaList(page: SagaPage, options: ViewOptions): string[] {
  if (page.items.length === 0) return ['no sagas'];
  const paint = paintWith(options.color ?? false);
  return formatTable(
    [{ title: 'CREATED' }, { title: 'SAGA' }, { title: 'TYPE' }, { title: 'STATUS' }, { title: 'SITE' }, { title: 'STEP' }],
    page.items.map((summary) => [
      formatAge(new Date(summary.createdAt), options.now),
      summary.id,
      printable(summary.type),
      paint(STATUS_COLOURS[summary.status] ?? 'bold', summary.status),
      printable(summary.siteName ?? ''),
      stepInfo(summary),
    ]),
    paint,
  );
}

const leg = (value: number | null): string => (value === null ? '?' : formatDuration(value) || '0ms');

/** A message's legs: sender's outbox / Kafka / receiver's handler. */
const hopsText = (hops: HistoryView['hops'] | undefined): string => (hops ? `${leg(hops.outboxMs)}/${leg(hops.brokerMs)}/${leg(hops.handlerMs)}` : '');

function historyRows(detail: SagaDetail, history: readonly HistoryView[]): string[][] {
  return history.map((entry) => [
    offset(detail.createdAt, entry.at),
    entry.direction === 'in' ? '→ in' : '← out',
    printable(entry.type),
    printable(entry.step ?? ''),
    hopsText(entry.hops),
    printable(entry.topic ?? ''),
  ]);
}

/** Per finished step: how long it waited on Kafka, on its participant and on the orchestrator. */
function waitRows(detail: SagaDetail): string[][] {
  return detail.steps.flatMap((step) =>
    step.waits ? [[printable(step.name), leg(step.waits.kafkaMs), leg(step.waits.participantMs), leg(step.waits.orchestratorMs)]] : [],
  );
}

/** `saga show`: facts, the step table, the outcome, and the message history. */
export function renderSagaDetail(detail: SagaDetail, options: ViewOptions): string[] {
  const paint = paintWith(options.color ?? false);
  const facts: [string, string][] = [
    ['saga', detail.id],
    ['type', `${printable(detail.type)} version ${detail.definitionVersion}${detail.versionDeployed === false ? ' (not deployed: it waits, replies parked, until that version is deployed again)' : ''}`],
    ...(detail.waitingFor ? ([['waiting', `waiting for saga ${detail.waitingFor} (same site): begins when it ends`]] as [string, string][]) : []),
    ['status', `${paint(STATUS_COLOURS[detail.status] ?? 'bold', detail.status)} (${sagaElapsed(detail, options.now)}, version ${detail.version})`],
    ...(detail.siteName ? ([['site', printable(detail.siteName)]] as [string, string][]) : []),
    ...(detail.siteId ? ([['site id', detail.siteId]] as [string, string][]) : []),
    ['created', `${detail.createdAt} (${formatAge(new Date(detail.createdAt), options.now)})`],
    ['updated', `${detail.updatedAt} (${formatAge(new Date(detail.updatedAt), options.now)})`],
    ...(detail.correlationId ? ([['correlation', detail.correlationId]] as [string, string][]) : []),
    ['input', printable(JSON.stringify(detail.input ?? null))],
  ];
  const actions = [detail.actions?.retry ? `saga retry ${detail.id}` : '', detail.actions?.abort ? `saga abort ${detail.id}` : ''].filter(Boolean);
  if (actions.length > 0) facts.push(['actions', actions.join('   ')]);
  const width = Math.max(...facts.map(([label]) => label.length));
  const outcome = outcomeLine(detail, paint);
  const history = detail.history.length === 0
    ? ['no messages recorded']
    : formatTable(
        [{ title: 'AT', align: 'right' }, { title: 'DIR' }, { title: 'MESSAGE' }, { title: 'STEP' }, { title: 'OUTBOX/KAFKA/HANDLER' }, { title: 'TOPIC' }],
        historyRows(detail, detail.history),
        paint,
      ).map((line) => `  ${line}`);
  const waits = waitRows(detail);
  const waited =
    waits.length === 0
      ? []
      : [
          '',
          paint('bold', 'waited on'),
          ...formatTable([{ title: 'STEP' }, { title: 'KAFKA', align: 'right' }, { title: 'PARTICIPANT', align: 'right' }, { title: 'ORCHESTRATOR', align: 'right' }], waits, paint).map(
            (line) => `  ${line}`,
          ),
        ];
  return [
    ...facts.map(([label, value]) => `${paint('dim', label.padEnd(width))}  ${value}`),
    '',
    ...renderStepTable(detail, options),
    ...(outcome ? [outcome] : []),
    ...waited,
    '',
    paint('bold', `history (${detail.history.length} messages${detail.historyTruncated ? ', the first ones only' : ''})`),
    ...history,
  ];
}

const ms = (value: number | null): string => (value === null ? '-' : formatDuration(value));

/** `saga stats`. */
export function renderStats(stats: SagaStats, options: ViewOptions): string[] {
  const paint = paintWith(options.color ?? false);
  const statuses = [...SAGA_STATUSES, ...Object.keys(stats.byStatus).filter((status) => !(SAGA_STATUSES as readonly string[]).includes(status))];
  const lines = [
    paint('bold', 'sagas by status'),
    `  ${statuses.map((status) => `${paint(STATUS_COLOURS[status] ?? 'bold', status)} ${stats.byStatus[status] ?? 0}`).join('   ')}`,
    '',
  ];
  const types = Object.keys(stats.byType).sort();
  if (types.length > 0) {
    lines.push(
      ...formatTable(
        [{ title: 'TYPE' }, ...statuses.map((status) => ({ title: status, align: 'right' as const }))],
        types.map((type) => [printable(type), ...statuses.map((status) => String(stats.byType[type]?.[status] ?? 0))]),
        paint,
      ),
      '',
    );
  }
  if (stats.steps.length > 0) {
    lines.push(
      ...formatTable(
        [{ title: 'STEP' }, { title: 'SUCCEEDED', align: 'right' }, { title: 'P50', align: 'right' }, { title: 'P95', align: 'right' }, { title: 'P99', align: 'right' }],
        stats.steps.map((step) => [printable(step.name), String(step.count), ms(step.p50Ms), ms(step.p95Ms), ms(step.p99Ms)]),
        paint,
      ),
      '',
    );
  }
  const durations = stats.sagaDurations;
  lines.push(`completed sagas: ${durations.count}, duration p50 ${ms(durations.p50Ms)}, p95 ${ms(durations.p95Ms)}, p99 ${ms(durations.p99Ms)}`);
  if (stats.window) lines.push(paint('dim', `latencies over the newest ${stats.window.sagas} sagas${stats.window.since ? ` (since ${stats.window.since})` : ''}`));
  return lines;
}

const clock = (iso: string): string => {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return printable(iso);
  return [at.getHours(), at.getMinutes(), at.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');
};

/** `saga tail`: one line per change. */
export function tailLine(summary: SagaSummary, options: { color?: boolean } = {}): string {
  const paint = paintWith(options.color ?? false);
  const status = paint(STATUS_COLOURS[summary.status] ?? 'bold', summary.status.padEnd(12));
  return [clock(summary.updatedAt), status, printable(summary.type).padEnd(10), summary.id, printable(summary.siteName ?? '-'), stepInfo(summary)]
    .filter((part) => part !== '')
    .join('  ');
}
