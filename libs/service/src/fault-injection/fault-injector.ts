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
}

const MODES: readonly FaultMode[] = ['fail', 'transient', 'stall', 'crash'];

/** Parses `FAULTS`, e.g. `ProvisionDatabase=fail@1,BootstrapSite=stall@0.5`. */
export function parseFaults(spec: string | undefined): FaultRule[] {
  if (!spec?.trim()) return [];
  return spec.split(',').map((part) => {
    const match = /^\s*([A-Za-z]+)=(fail|transient|stall|crash)(?:@([0-9.]+))?\s*$/.exec(part);
    if (!match) throw new Error(`FAULTS: cannot read "${part}" (expected Command=fail|transient|stall|crash@rate)`);
    const rate = match[3] === undefined ? 1 : Number(match[3]);
    if (!(rate >= 0 && rate <= 1)) throw new Error(`FAULTS: rate of "${part}" must be between 0 and 1`);
    return { command: match[1]!, mode: match[2] as FaultMode, rate };
  });
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
  private rules: FaultRule[] = [];

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

  configure(rules: readonly FaultRule[]): void {
    if (rules.length > 0 && !this.enabled) throw new Error('fault injection is off (FAULTS_ENABLED=1 switches it on, never in production)');
    for (const rule of rules) {
      if (!MODES.includes(rule.mode) || !(rule.rate >= 0 && rule.rate <= 1) || !rule.command) throw new Error(`invalid fault rule ${JSON.stringify(rule)}`);
    }
    this.rules = [...rules];
  }

  current(): readonly FaultRule[] {
    return this.rules;
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
    const rule = this.rules.find((candidate) => candidate.command === command.type && (!candidate.match || text.includes(candidate.match)));
    if (!rule || this.random() >= rule.rate) return 'proceed';
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
