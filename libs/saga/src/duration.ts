/**
 * A span of time as people write it in a saga definition: `'500ms'`, `'30s'`, `'2m'`,
 * `'1h'`, or a number of milliseconds.
 */
export type Duration = number | `${number}ms` | `${number}s` | `${number}m` | `${number}h`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

export class InvalidDuration extends Error {
  constructor(value: unknown) {
    super(`invalid duration ${JSON.stringify(value)}: expected a number of ms or a string such as '500ms', '30s', '2m', '1h'`);
    this.name = 'InvalidDuration';
  }
}

/** Milliseconds in `duration`; throws InvalidDuration for anything else, so a typo fails at definition time. */
export function toMilliseconds(duration: Duration): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0) throw new InvalidDuration(duration);
    return duration;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(duration).trim());
  if (!match) throw new InvalidDuration(duration);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
