import type { SagaDefinitionView, SagaDetail } from '@sitesaga/http-contracts';
import type { RehearsalCase } from './rehearsal-cases';

/** What a case runs on: a fresh subject of its own (a new site), so cases never touch each other's. */
export interface Subject {
  /** What the saga is about (a site id): effects are looked up by it. */
  readonly key: string;
  /** Text every command of the subject's saga mentions (the site id): the fault rules' `match`. */
  readonly match: string;
  /** What exists before the saga starts (e.g. a site to delete), resource → state. */
  readonly baseline: Readonly<Record<string, string>>;
}

/** A fault rule as `PUT /faults` takes it. */
export interface FaultRuleSpec {
  readonly command: string;
  readonly mode: 'fail' | 'transient' | 'stall' | 'crash';
  readonly rate: number;
  readonly match?: string;
  readonly times?: number;
}

/** `GET|PUT /faults` on each participant. */
export interface FaultControl {
  put(service: string, rules: readonly FaultRuleSpec[]): Promise<void>;
  /** The service's rules with how often each fired; null while the service does not answer. */
  get(service: string): Promise<readonly (FaultRuleSpec & { fired: number })[] | null>;
}

/** What is left of a subject's effects, against what the case's expected step ends leave. */
export interface EffectReport {
  /** Resource → what was seen (`directory: present`, `record: FAILED`); `?` when it cannot be seen from here. */
  readonly seen: Readonly<Record<string, string>>;
  readonly divergences: readonly string[];
}

/**
 * Judges the effects a case left behind. Swappable: the CLI reads what the services show
 * (the sites API, the storage root when it is on this machine), the e2e test reads the
 * directory and the database server themselves, an inventory view can replace both.
 */
export interface EffectProbe {
  judge(subject: Subject, rehearsal: RehearsalCase, definition: SagaDefinitionView): Promise<EffectReport>;
}

export interface RehearsalPorts {
  /** A fresh subject for one case (for DeleteSite: a site created first, without faults). */
  prepare(sagaType: string, label: string): Promise<Subject>;
  /** Starts the case's saga on the subject; resolves with its saga id. */
  start(sagaType: string, subject: Subject): Promise<string>;
  /** The saga as the admin API shows it; null while it does not exist yet. */
  detail(sagaId: string): Promise<SagaDetail | null>;
  readonly faults: FaultControl;
  readonly effects: EffectProbe;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface RehearsalOptions {
  /** Cases in flight at once. */
  readonly concurrency: number;
  /** How long one case may take to converge, from the saga's start. */
  readonly caseTimeoutMs: number;
  /** Between two reads of a saga. */
  readonly pollMs?: number;
  /** Told when a case starts and ends (progress lines). */
  readonly onProgress?: (line: string) => void;
}

export interface CaseResult {
  readonly rehearsal: RehearsalCase;
  readonly sagaId: string | null;
  readonly subject: string | null;
  /** The saga's end: its status and every step's state, as the admin API showed it last. */
  readonly actual: { readonly status: string; readonly steps: Readonly<Record<string, { state: string; attempts: number; compensationAttempts: number }>> } | null;
  readonly effects: EffectReport | null;
  /** From the start command to the saga's end; null when it did not end in time. */
  readonly convergedMs: number | null;
  /** Empty: the case went as expected. */
  readonly divergences: readonly string[];
}

const TERMINAL = new Set(['COMPLETED', 'COMPENSATED', 'FAILED']);

/**
 * The fault rules every running case wants, per service. `PUT /faults` replaces a
 * service's whole set, so every change sends the union of the cases' rules, one request
 * at a time per service (the injector keeps the counts of rules it keeps).
 */
class FaultBoard {
  private readonly wanted = new Map<string, Map<string, FaultRuleSpec[]>>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly control: FaultControl,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async set(caseId: string, rules: readonly (FaultRuleSpec & { service: string })[]): Promise<void> {
    const services = new Set(rules.map((rule) => rule.service));
    for (const service of services) {
      const byCase = this.wanted.get(service) ?? new Map<string, FaultRuleSpec[]>();
      byCase.set(
        caseId,
        rules.filter((rule) => rule.service === service).map(({ service: _service, ...rule }) => rule),
      );
      this.wanted.set(service, byCase);
    }
    await Promise.all([...services].map((service) => this.sync(service)));
  }

  async clear(caseId: string, services: readonly string[]): Promise<void> {
    for (const service of services) this.wanted.get(service)?.delete(caseId);
    await Promise.all(services.map((service) => this.sync(service)));
  }

  private sync(service: string): Promise<void> {
    const previous = this.queues.get(service) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.put(service));
    this.queues.set(service, next);
    return next;
  }

  /** A service that is restarting (a crash case) is waited for, up to half a minute. */
  private async put(service: string): Promise<void> {
    const rules = [...(this.wanted.get(service)?.values() ?? [])].flat();
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 60; attempt += 1) {
      try {
        await this.control.put(service, rules);
        return;
      } catch (error) {
        lastError = error;
        await this.sleep(500);
      }
    }
    throw lastError instanceof Error ? lastError : new Error(`PUT /faults on ${service} failed`);
  }
}

/** Two cases may hold rules at once unless one kills a service the other has rules on (a crash takes the service's in-memory rules with it). */
const compatible = (a: RehearsalCase, b: RehearsalCase): boolean =>
  !(a.crashes && b.services.includes(a.crashes)) && !(b.crashes && a.services.includes(b.crashes));

/**
 * Runs every case, of one saga or several (one board of fault rules for all: `PUT /faults`
 * replaces a service's set), at most `concurrency` at once, and judges each. A case starts
 * when it is compatible with every running case and with every case queued before it
 * (crash cases are queued first, so they are not starved); each prepares its own subject.
 */
export async function runRehearsal(
  definitions: readonly SagaDefinitionView[],
  cases: readonly RehearsalCase[],
  ports: RehearsalPorts,
  options: RehearsalOptions,
): Promise<CaseResult[]> {
  const board = new FaultBoard(ports.faults, ports.sleep);
  const queue = cases.map((rehearsal, index) => ({ rehearsal, label: `r${index + 1}` }));
  queue.sort((a, b) => Number(b.rehearsal.crashes !== null) - Number(a.rehearsal.crashes !== null));
  const active = new Set<RehearsalCase>();
  const results = new Map<RehearsalCase, CaseResult>();
  const limit = Math.max(1, options.concurrency);

  await new Promise<void>((resolve) => {
    const pump = (): void => {
      for (let i = 0; i < queue.length && active.size < limit; ) {
        const { rehearsal, label } = queue[i]!;
        const free = [...active].every((other) => compatible(rehearsal, other)) && queue.slice(0, i).every((earlier) => compatible(rehearsal, earlier.rehearsal));
        if (!free) {
          i += 1;
          continue;
        }
        queue.splice(i, 1);
        active.add(rehearsal);
        options.onProgress?.(`start    ${rehearsal.id}`);
        void runCase(definitions, rehearsal, label, ports, board, options).then((result) => {
          results.set(rehearsal, result);
          active.delete(rehearsal);
          options.onProgress?.(
            `${result.divergences.length === 0 ? 'ok      ' : 'DIVERGED'} ${rehearsal.id}${result.convergedMs !== null ? ` (${(result.convergedMs / 1000).toFixed(1)} s)` : ''}`,
          );
          pump();
        });
      }
      if (queue.length === 0 && active.size === 0) resolve();
    };
    pump();
  });
  return cases.map((rehearsal) => results.get(rehearsal)!);
}

function definitionOf(definitions: readonly SagaDefinitionView[], sagaType: string): SagaDefinitionView {
  const found = definitions.find((definition) => definition.type === sagaType);
  if (!found) throw new Error(`no definition of ${sagaType}`);
  return found;
}

/** One case, start to judgement; never throws (what went wrong is a divergence). */
async function runCase(
  definitions: readonly SagaDefinitionView[],
  rehearsal: RehearsalCase,
  label: string,
  ports: RehearsalPorts,
  board: FaultBoard,
  options: RehearsalOptions,
): Promise<CaseResult> {
  try {
    const subject = await ports.prepare(rehearsal.sagaType, label);
    return await runPrepared(definitionOf(definitions, rehearsal.sagaType), rehearsal, subject, ports, board, options);
  } catch (error) {
    return { rehearsal, sagaId: null, subject: null, actual: null, effects: null, convergedMs: null, divergences: [`could not run: ${(error as Error).message}`] };
  }
}

async function runPrepared(
  definition: SagaDefinitionView,
  rehearsal: RehearsalCase,
  subject: Subject,
  ports: RehearsalPorts,
  board: FaultBoard,
  options: RehearsalOptions,
): Promise<CaseResult> {
  const divergences: string[] = [];
  const rules = rehearsal.faults.map((fault) => ({
    service: fault.service,
    command: fault.command,
    mode: fault.mode,
    rate: 1,
    match: subject.match,
    ...(fault.times !== undefined ? { times: fault.times } : {}),
  }));
  await board.set(rehearsal.id, rules);
  let sagaId: string | null = null;
  let detail: SagaDetail | null = null;
  let convergedMs: number | null = null;
  const rehearsed = rehearsal.faults.find((fault) => fault.rehearsed)!;
  let fired: number | null | undefined = null;
  try {
    const startedAt = ports.now();
    sagaId = await ports.start(rehearsal.sagaType, subject);
    const deadline = startedAt + options.caseTimeoutMs;
    for (;;) {
      detail = await ports.detail(sagaId).catch(() => detail);
      if (detail && TERMINAL.has(detail.status)) {
        convergedMs = ports.now() - startedAt;
        break;
      }
      if (ports.now() > deadline) break;
      await ports.sleep(options.pollMs ?? 300);
    }
    // Was the fault felt? Read before the rules are taken away (a crashed service has lost them: that is the proof).
    fired = await firedCount(ports, rehearsed.service, rehearsed.command, subject.match, rehearsal.crashes !== null ? 30_000 : 5_000);
  } finally {
    await board.clear(rehearsal.id, rehearsal.services);
  }

  if (convergedMs === null) divergences.push(`did not end within ${Math.round(options.caseTimeoutMs / 1000)} s (${detail ? detail.status : 'saga not seen'})`);
  if (rehearsal.crashes) {
    if (fired === undefined) divergences.push(`${rehearsal.crashes} did not answer GET /faults after the crash`);
    else if (fired !== null) divergences.push(`${rehearsal.crashes} never crashed (its crash rule is still there, fired ${fired}×)`);
  } else if (fired === undefined || fired === null || fired === 0) {
    divergences.push(`the ${rehearsed.mode} fault on ${rehearsed.command} never fired`);
  }
  const actual = detail ? actualOf(detail) : null;
  if (actual) {
    if (actual.status !== rehearsal.expected.status) divergences.push(`saga ${actual.status}, expected ${rehearsal.expected.status}`);
    for (const [name, expected] of Object.entries(rehearsal.expected.steps)) {
      const step = actual.steps[name];
      if (!step) divergences.push(`${name}: missing from the saga`);
      else if (!(expected.states as readonly string[]).includes(step.state)) divergences.push(`${name} ${step.state}, expected ${expected.states.join(' or ')}`);
    }
    const { step, leg } = rehearsal.expected.attemptsOf;
    const counted = actual.steps[step];
    const attempts = counted ? (leg === 'forward' ? counted.attempts : counted.compensationAttempts) : 0;
    if (attempts < rehearsal.expected.minAttempts) {
      divergences.push(`${step} ${leg === 'forward' ? '' : 'compensation '}sent ${attempts}×, expected at least ${rehearsal.expected.minAttempts}×`);
    }
  }
  const effects = await ports.effects.judge(subject, rehearsal, definition).catch(
    (error: unknown): EffectReport => ({ seen: {}, divergences: [`effects could not be read: ${(error as Error).message}`] }),
  );
  divergences.push(...effects.divergences);
  return { rehearsal, sagaId, subject: subject.key, actual, effects, convergedMs, divergences };
}

/**
 * How often the case's rule fired: a number; null when the service answers without the
 * rule (it restarted and lost it); undefined when the service does not answer in time.
 */
async function firedCount(ports: RehearsalPorts, service: string, command: string, match: string, withinMs: number): Promise<number | null | undefined> {
  const until = ports.now() + withinMs;
  for (;;) {
    const rules = await ports.faults.get(service).catch(() => null);
    if (rules) return rules.find((rule) => rule.command === command && rule.match === match)?.fired ?? null;
    if (ports.now() > until) return undefined;
    await ports.sleep(500);
  }
}

function actualOf(detail: SagaDetail): NonNullable<CaseResult['actual']> {
  return {
    status: detail.status,
    steps: Object.fromEntries(
      detail.steps.map((step) => [step.name, { state: step.state, attempts: step.attempts, compensationAttempts: step.compensationAttempts }]),
    ),
  };
}
