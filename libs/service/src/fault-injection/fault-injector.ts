import type { Envelope } from '@sitesaga/message-kit';
import { BusinessRejection, TransientFailure } from '@sitesaga/messaging';

/**
 * What an injected fault does to a command:
 * - `fail`: a business refusal (no retry; the saga compensates);
 * - `transient`: a transient error on every attempt (retried locally, then reported transient);
 * - `stall`: the command is consumed and never answered (the orchestrator's deadline fires);
 * - `crash`: the process dies mid-command, before its transaction commits (kill -9 tests).
 */
export type FaultMode = 'fail' | 'transient' | 'stall' | 'crash';

export interface FaultRule {
  readonly command: string;
  readonly mode: FaultMode;
  /** 0..1: the share of commands hit. */
  readonly rate: number;
  /** Only commands whose payload mentions this text (a site id or name) are hit; all when absent. */
  readonly match?: string;
  /**
   * Only the first `times` commands the rule hits (each by its message id, every attempt of
   * it): `transient` with `times: 1` fails one send and lets the orchestrator's retry
   * through. Every matching command when absent. At most MAX_FAULT_TIMES.
   */
  readonly times?: number;
}

/** A rule as `GET /faults` shows it: with how many attempts it has hit so far. */
export interface FaultRuleStatus extends FaultRule {
  readonly fired: number;
}

export const MAX_FAULT_TIMES = 1000;

const MODES: readonly FaultMode[] = ['fail', 'transient', 'stall', 'crash'];

/** Parses `FAULTS`, e.g. `ProvisionDatabase=fail@1,BootstrapSite=stall@0.5,ActivateSite=transient*1` (`*N`: the first N commands only). */
export function parseFaults(spec: string | undefined): FaultRule[] {
  if (!spec?.trim()) return [];
  return spec.split(',').map((part) => {
    const match = /^\s*([A-Za-z]+)=(fail|transient|stall|crash)(?:@([0-9.]+))?(?:\*([0-9]+))?\s*$/.exec(part);
    if (!match) throw new Error(`FAULTS: cannot read "${part}" (expected Command=fail|transient|stall|crash@rate*times)`);
    const rate = match[3] === undefined ? 1 : Number(match[3]);
    if (!(rate >= 0 && rate <= 1)) throw new Error(`FAULTS: rate of "${part}" must be between 0 and 1`);
    const times = match[4] === undefined ? undefined : Number(match[4]);
    if (times !== undefined && !validTimes(times)) throw new Error(`FAULTS: times of "${part}" must be a whole number from 1 to ${MAX_FAULT_TIMES}`);
    return { command: match[1]!, mode: match[2] as FaultMode, rate, ...(times !== undefined ? { times } : {}) };
  });
}

const validTimes = (times: unknown): boolean => typeof times === 'number' && Number.isInteger(times) && times >= 1 && times <= MAX_FAULT_TIMES;

/** Two rules alike in every field: a replaced rule set keeps the counts of the rules it keeps. */
const sameRule = (a: FaultRule, b: FaultRule): boolean =>
  a.command === b.command && a.mode === b.mode && a.rate === b.rate && (a.match ?? null) === (b.match ?? null) && (a.times ?? null) === (b.times ?? null);

interface ActiveRule {
  readonly rule: FaultRule;
  /** Ids of the commands hit, for a rule with `times`. */
  readonly hit: Set<string>;
  fired: number;
}

/**
 * Whether fault injection is switched on: only by FAULTS_ENABLED=1, and never when
 * NODE_ENV=production. Off, `/faults` does not exist and FAULTS is refused at boot.
 */
export function faultsEnabledIn(env: NodeJS.ProcessEnv): boolean {
  return env.FAULTS_ENABLED === '1' && env.NODE_ENV !== 'production';
}

/**
 * Makes named commands fail or stall on purpose, for tests and demos. Off unless
 * switched on (FAULTS_ENABLED=1); refused outright when NODE_ENV=production.
 */
export class FaultInjector {
  private rules: ActiveRule[] = [];

  constructor(
    initial: readonly FaultRule[] = [],
    readonly enabled: boolean = faultsEnabledIn(process.env),
    private readonly random: () => number = Math.random,
  ) {
    this.configure(initial);
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): FaultInjector {
    const rules = parseFaults(env.FAULTS);
    if (rules.length > 0 && env.NODE_ENV === 'production') throw new Error('FAULTS is refused when NODE_ENV=production');
    if (rules.length > 0 && !faultsEnabledIn(env)) throw new Error('FAULTS needs FAULTS_ENABLED=1 (fault injection is off unless switched on)');
    return new FaultInjector(rules, faultsEnabledIn(env));
  }

  /**
   * Replaces the rules. A rule identical to one in place keeps its counts (so a client that
   * adds a rule by sending the whole set again does not re-arm a `times` rule).
   */
  configure(rules: readonly FaultRule[]): void {
    if (rules.length > 0 && !this.enabled) throw new Error('fault injection is off (FAULTS_ENABLED=1 switches it on, never in production)');
    for (const rule of rules) {
      if (!MODES.includes(rule.mode) || !(rule.rate >= 0 && rule.rate <= 1) || !rule.command) throw new Error(`invalid fault rule ${JSON.stringify(rule)}`);
      if (rule.times !== undefined && !validTimes(rule.times)) {
        throw new Error(`invalid fault rule ${JSON.stringify(rule)}: times must be a whole number from 1 to ${MAX_FAULT_TIMES}`);
      }
    }
    const previous = [...this.rules];
    this.rules = rules.map((rule) => {
      const kept = previous.findIndex((active) => sameRule(active.rule, rule));
      if (kept >= 0) return previous.splice(kept, 1)[0]!;
      const { command, mode, rate, match, times } = rule;
      return { rule: { command, mode, rate, ...(match !== undefined ? { match } : {}), ...(times !== undefined ? { times } : {}) }, hit: new Set<string>(), fired: 0 };
    });
  }

  current(): readonly FaultRuleStatus[] {
    return this.rules.map((active) => ({ ...active.rule, fired: active.fired }));
  }

  /**
   * Asked by the unit of work before every attempt of a participant command (its
   * `intercept` hook: no handler calls it). Throws for `fail` and `transient`, exits for
   * `crash`, and returns 'drop' for `stall` (the command is then recorded in the inbox and
   * answered with nothing).
   */
  apply(command: Envelope): 'proceed' | 'drop' {
    if (this.rules.length === 0) return 'proceed';
    const text = JSON.stringify(command.payload);
    for (const active of this.rules) {
      const { rule } = active;
      if (rule.command !== command.type || (rule.match && !text.includes(rule.match))) continue;
      // A command already hit is hit on every attempt; a spent `times` rule lets the next rule speak.
      const again = rule.times !== undefined && active.hit.has(command.id);
      if (!again && rule.times !== undefined && active.hit.size >= rule.times) continue;
      if (!again && this.random() >= rule.rate) return 'proceed';
      if (rule.times !== undefined) active.hit.add(command.id);
      active.fired += 1;
      return this.inject(rule, command);
    }
    return 'proceed';
  }

  private inject(rule: FaultRule, command: Envelope): 'drop' {
    switch (rule.mode) {
      case 'fail':
        throw new BusinessRejection(`injected fault: ${command.type} refused`);
      case 'transient':
        throw new TransientFailure(`injected fault: ${command.type} hit a transient error`);
      case 'stall':
        return 'drop';
      case 'crash':
        process.kill(process.pid, 'SIGKILL');
        return 'drop';
    }
  }
}
