import { z } from 'zod';

/**
 * What every string a message carries must be, because of where it lands: Postgres
 * refuses a NUL byte in any text (22021 as a parameter, 08P01 inside a literal) and a
 * lone UTF-16 surrogate in jsonb (22P02); the other C0 controls and DEL are never part of
 * an id, a name or an address, and in a log line or a header they forge structure. So
 * they are refused at the edge, where the client can still be told, instead of failing
 * a transaction deep inside a participant, where retrying cannot help.
 */
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const CONTROL_CHARACTER_MESSAGE = 'must not contain control characters (U+0000 to U+001F, U+007F)';
export const LONE_SURROGATE_MESSAGE = 'must be valid Unicode (no unpaired surrogates)';

/** Why `text` cannot be stored and shown as it is, or null when it can. */
export function unstorableTextReason(text: string): string | null {
  if (CONTROL.test(text)) return CONTROL_CHARACTER_MESSAGE;
  if (LONE_SURROGATE.test(text)) return LONE_SURROGATE_MESSAGE;
  return null;
}

const ESCAPABLE = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `text` with control characters and lone surrogates written as `\uXXXX`: for text we
 * produce ourselves from input (a field path built from a client's keys, an error
 * message), which is reported, not refused.
 */
export const printable = (text: string): string => text.replace(ESCAPABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Text we write ourselves from what happened (a failure reason, an error message that may
 * quote input): escaped and capped when a message is built, never a reason to refuse it.
 */
export const diagnosticText = (max: number, min = 0) =>
  (min > 0 ? z.string().min(min) : z.string()).transform((text) => {
    const safe = printable(text.length > max * 7 ? text.slice(0, max * 7) : text);
    return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
  });

/**
 * Limits of a JSON value's shape: every payload of the contracts is a few fields deep and
 * a few dozen values large, so anything far beyond is refused after a bounded walk,
 * before a schema looks at it (a schema would report every one of 60,000 keys).
 */
export const PAYLOAD_LIMITS = { depth: 16, values: 1000 } as const;

export interface ShapeProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Walks a parsed JSON value (iteratively, so no input depth can overflow the stack) and
 * reports strings and keys that cannot be stored (`problems`, at most `maxProblems` listed,
 * `total` counting all: the walk itself is bounded), or stops at the first structural
 * limit (`tooLarge`: nested deeper than PAYLOAD_LIMITS.depth, more than
 * PAYLOAD_LIMITS.values values). `root` names the value in field paths ('' for none).
 */
export function shapeProblemsOf(value: unknown, root: string, maxProblems = 20): { problems: ShapeProblem[]; total: number; tooLarge: ShapeProblem | null } {
  const problems: ShapeProblem[] = [];
  let total = 0;
  let tooLarge: ShapeProblem | null = null;
  const report = (field: string, message: string) => {
    total += 1;
    if (problems.length < maxProblems) problems.push({ field: printable(field.length > 200 ? `${field.slice(0, 199)}…` : field) || '(root)', message });
  };
  const refuse = (field: string, message: string) => {
    tooLarge = { field: printable(field.length > 200 ? `${field.slice(0, 199)}…` : field) || '(root)', message };
  };
  const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);
  // A key's problem is reported when its value is visited, so reasons come in document order.
  type Visit = { value: unknown; path: string; depth: number; keyReason?: string | null };
  const stack: Visit[] = [{ value, path: root, depth: 0 }];
  let values = 0;
  while (stack.length > 0) {
    const { value: current, path, depth, keyReason } = stack.pop()!;
    if (keyReason) report(path, `field name ${keyReason}`);
    values += 1;
    if (values > PAYLOAD_LIMITS.values) {
      refuse(root, `has more than ${PAYLOAD_LIMITS.values} values`);
      break;
    }
    if (typeof current === 'string') {
      const reason = unstorableTextReason(current);
      if (reason) report(path, reason);
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= PAYLOAD_LIMITS.depth) {
      refuse(path, `is nested deeper than ${PAYLOAD_LIMITS.depth} levels`);
      break;
    }
    if (Array.isArray(current)) {
      if (current.length > PAYLOAD_LIMITS.values) {
        refuse(path, `has more than ${PAYLOAD_LIMITS.values} values`);
        break;
      }
      for (let index = current.length - 1; index >= 0; index--) stack.push({ value: current[index], path: join(path, index), depth: depth + 1 });
      continue;
    }
    let keys = 0;
    const children: Visit[] = [];
    for (const key in current) {
      if (!Object.prototype.hasOwnProperty.call(current, key)) continue;
      keys += 1;
      if (keys > PAYLOAD_LIMITS.values) break;
      children.push({ value: (current as Record<string, unknown>)[key], path: join(path, key), depth: depth + 1, keyReason: unstorableTextReason(key) });
    }
    if (keys > PAYLOAD_LIMITS.values) {
      refuse(path, `has more than ${PAYLOAD_LIMITS.values} values`);
      break;
    }
    stack.push(...children.reverse());
  }
  return { problems, total, tooLarge };
}
