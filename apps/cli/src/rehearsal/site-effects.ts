import type { SagaDefinitionView } from '@sitesaga/http-contracts';
import type { RehearsalCase } from './rehearsal-cases';
import type { EffectProbe, EffectReport, Subject } from './rehearsal-runner';

/**
 * What a site's commands do to the world, by command type (forward or undo alike):
 * the one site-specific table of the rehearsal. A command missing here (a new step) is
 * still rehearsed — its saga status and step ends are checked — only its effects are not.
 */
export const SITE_COMMAND_EFFECTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  ReserveSite: { record: 'PENDING' },
  ActivateSite: { record: 'ACTIVE' },
  ReleaseSite: { record: 'FAILED' },
  MarkSiteDeleting: { record: 'DELETING' },
  MarkSiteDeleted: { record: 'DELETED' },
  ProvisionStorage: { directory: 'present' },
  DeprovisionStorage: { directory: 'absent' },
  ProvisionDatabase: { database: 'present', role: 'present' },
  DropDatabase: { database: 'absent', role: 'absent' },
};

/** Before any saga: nothing. A site to delete has been created first. */
export const NO_SITE: Readonly<Record<string, string>> = { record: 'absent', directory: 'absent', database: 'absent', role: 'absent' };
export const ACTIVE_SITE: Readonly<Record<string, string>> = { record: 'ACTIVE', directory: 'present', database: 'present', role: 'present' };

/** `either`: the case cannot say (a step sent without an answer, with nothing to undo it). */
export const EITHER = 'either';

/**
 * The state each resource must be in when the case's saga ends as expected: the baseline,
 * then every forward effect kept (stage order), then every undo of a step expected
 * COMPENSATED (reverse order). Pure.
 */
export function expectedResources(
  rehearsal: RehearsalCase,
  definition: SagaDefinitionView,
  baseline: Readonly<Record<string, string>>,
  effects: Readonly<Record<string, Readonly<Record<string, string>>>> = SITE_COMMAND_EFFECTS,
): Record<string, string> {
  const state: Record<string, string> = { ...baseline };
  const steps = definition.stages.flatMap((stage) => stage.steps);
  for (const step of steps) {
    const expected = rehearsal.expected.steps[step.name];
    const touched = effects[step.command.type] ?? {};
    if (!expected) continue;
    for (const [resource, value] of Object.entries(touched)) {
      const compensated = expected.states.length === 1 && expected.states[0] === 'COMPENSATED';
      if (expected.effect === 'kept' || compensated) state[resource] = value;
      else if (expected.effect === 'maybe' && state[resource] !== value) state[resource] = EITHER;
    }
  }
  for (const step of [...steps].reverse()) {
    const expected = rehearsal.expected.steps[step.name];
    if (!step.compensation || !expected || !(expected.states.length === 1 && expected.states[0] === 'COMPENSATED')) continue;
    for (const [resource, value] of Object.entries(effects[step.compensation.command.type] ?? {})) state[resource] = value;
  }
  return state;
}

/** What can be seen of one site: `present`/`absent` (the record: its status, or `absent`); null when this reader cannot see it. */
export interface SiteResourceReader {
  read(siteId: string): Promise<Readonly<Record<string, string | null>>>;
}

/** Judges a site's effects by reading its resources and comparing them with `expectedResources`. */
export class SiteEffectProbe implements EffectProbe {
  constructor(private readonly reader: SiteResourceReader) {}

  async judge(subject: Subject, rehearsal: RehearsalCase, definition: SagaDefinitionView): Promise<EffectReport> {
    const expected = expectedResources(rehearsal, definition, subject.baseline);
    const read = await this.reader.read(subject.key);
    const seen: Record<string, string> = {};
    const divergences: string[] = [];
    for (const [resource, wanted] of Object.entries(expected)) {
      const actual = read[resource];
      seen[resource] = actual ?? '?';
      if (actual === null || actual === undefined || wanted === EITHER) continue;
      // A deleted site's record may be kept as DELETED or be gone: both say the same.
      const same = actual === wanted || (resource === 'record' && wanted === 'DELETED' && actual === 'absent');
      if (!same) divergences.push(`${resource} ${actual}, expected ${wanted}`);
    }
    return { seen, divergences };
  }
}
