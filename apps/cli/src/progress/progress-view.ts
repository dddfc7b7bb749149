import type { SagaDetail } from '../admin/admin-views';
import { type Output, writeLines } from '../terminal/output';
import { paintWith, truncateVisible } from '../terminal/terminal-text';
import { progressChanges, renderProgress } from './progress-renderer';

const CURSOR_HIDE = '\u001b[?25l';
const CURSOR_SHOW = '\u001b[?25h';
const CLEAR_LINE = '\u001b[2K';
const CLEAR_BELOW = '\u001b[J';
const up = (lines: number) => (lines > 0 ? `\u001b[${lines}A\r` : '\r');

export interface ProgressViewOptions {
  /** Redraw in place (stdout is a terminal); otherwise append a line per change. */
  readonly live: boolean;
  readonly color: boolean;
  readonly now?: () => Date;
}

/**
 * Shows one saga's progress. Live: the step table redrawn in place, each frame written in
 * one piece and cut to the screen width (a wrapped line would throw the redraw off).
 * Plain: one line per change, and the full table once at the end.
 */
export class ProgressView {
  private detail: SagaDetail | null = null;
  private waitingFor: string | null = null;
  private noteText: string | null = null;
  private drawn = 0;
  private started = false;
  private closed = false;
  private readonly now: () => Date;

  constructor(
    private readonly out: Output,
    private readonly options: ProgressViewOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Before the saga exists (a command sent to Kafka not consumed yet). */
  waiting(message: string): void {
    if (this.waitingFor === message) return;
    this.waitingFor = message;
    if (this.options.live) this.draw();
    else writeLines(this.out, [message]);
  }

  update(detail: SagaDetail): void {
    const previous = this.detail;
    this.detail = detail;
    this.waitingFor = null;
    if (this.options.live) this.draw();
    else writeLines(this.out, progressChanges(previous, detail, this.now()));
  }

  /** A transient condition (stream lost, retrying); null clears it. */
  note(message: string | null): void {
    if (this.noteText === message) return;
    this.noteText = message;
    if (this.options.live) this.draw();
    else if (message) writeLines(this.out, [message]);
  }

  /** Live view: redraw so running steps' elapsed times move. */
  tick(): void {
    if (this.options.live && this.started) this.draw();
  }

  /** Leaves the final table on screen (plain: prints it) and gives the cursor back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.noteText = null;
    if (this.options.live) {
      if (this.started) {
        this.draw();
        this.out.write(CURSOR_SHOW);
      }
      return;
    }
    if (this.detail) writeLines(this.out, ['', ...renderProgress(this.detail, { now: this.now(), color: false })]);
  }

  private lines(): string[] {
    const paint = paintWith(this.options.color);
    const lines = this.detail ? renderProgress(this.detail, { now: this.now(), color: this.options.color }) : [this.waitingFor ?? ''];
    if (this.noteText) lines.push(paint('yellow', this.noteText));
    return lines;
  }

  private draw(): void {
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    const lines = this.lines().map((line) => CLEAR_LINE + truncateVisible(line, width));
    const prefix = this.started ? up(this.drawn) : CURSOR_HIDE;
    this.started = true;
    this.out.write(`${prefix}${lines.join('\n')}\n${CLEAR_BELOW}`);
    this.drawn = lines.length;
  }
}

/** Puts the cursor back if the process is left while a live view hides it. */
export const restoreCursor = (out: Output): void => {
  if (out.isTTY) out.write(CURSOR_SHOW);
};
