/**
 * Text for a terminal: ANSI colours (only when asked), widths that ignore escape codes,
 * truncation to the screen width (a wrapped line would break the in-place redraw).
 */
const ESCAPE = /\u001b\[[0-9;?]*[A-Za-z]/g;

export type Colour = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'grey' | 'bold' | 'dim';

const CODES: Record<Colour, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  grey: [90, 39],
  bold: [1, 22],
  dim: [2, 22],
};

export type Paint = (colour: Colour, text: string) => string;

export const paintWith =
  (enabled: boolean): Paint =>
  (colour, text) =>
    enabled && text !== '' ? `\u001b[${CODES[colour][0]}m${text}\u001b[${CODES[colour][1]}m` : text;

export const stripAnsi = (text: string): string => text.replace(ESCAPE, '');

/** Width on screen, escape codes excluded (every other character counts as one column). */
export const visibleWidth = (text: string): number => [...stripAnsi(text)].length;

export const padEndVisible = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - visibleWidth(text)));

/** Cuts `text` to `width` columns, keeping escape codes whole and resetting them when something was cut. */
export function truncateVisible(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  let index = 0;
  const limit = Math.max(0, width - 1);
  while (index < text.length) {
    const escape = text[index] === '\u001b' ? /^\u001b\[[0-9;?]*[A-Za-z]/.exec(text.slice(index)) : null;
    if (escape) {
      out += escape[0];
      index += escape[0].length;
      continue;
    }
    const char = String.fromCodePoint(text.codePointAt(index)!);
    if (used >= limit) break;
    out += char;
    used += 1;
    index += char.length;
  }
  const hadEscapes = out !== stripAnsi(out);
  return `${out}${width > 0 ? '…' : ''}${hadEscapes ? '\u001b[0m' : ''}`;
}

/** Removes control characters from text that came from the server before it reaches the terminal. */
// eslint-disable-next-line no-control-regex
export const printable = (text: string): string => text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '�');

/** `120ms`, `1.2s`, `2m05s`, `3h04m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** `5s ago`, `3m ago`, `2h ago`, `4d ago`. */
export function formatAge(then: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

export interface Column {
  readonly title: string;
  readonly align?: 'left' | 'right';
}

/**
 * Lays rows out in columns separated by two spaces; cells may carry colour codes.
 * The last column is not padded (no trailing blanks).
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[], paint: Paint = (_colour, text) => text): string[] {
  const widths = columns.map((column, index) => Math.max(visibleWidth(column.title), ...rows.map((row) => visibleWidth(row[index] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, index) => {
        const width = widths[index] ?? 0;
        if (columns[index]?.align === 'right') return ' '.repeat(Math.max(0, width - visibleWidth(cell))) + cell;
        return index === cells.length - 1 ? cell : padEndVisible(cell, width);
      })
      .join('  ')
      .trimEnd();
  return [
    paint('bold', line(columns.map((column) => column.title))),
    ...rows.map((row) => line(columns.map((_column, index) => row[index] ?? ''))),
  ];
}
