import logUpdate from 'log-update';
import type { SagaDetail } from '../admin/admin-views';
import { type Output, writeLines } from '../terminal/output';
import { paintWith, truncateVisible } from '../terminal/terminal-text';
import { progressChanges, renderProgress } from './progress-renderer';

const CURSOR_SHOW = '\u001b[?25h';

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
  /** The live frame (log-update: erases the previous frame and writes the next in one piece). */
  private frame: logUpdate.LogUpdate | null = null;
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
        this.frame?.done(); // leaves the last frame and shows the cursor
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
    // Cut to the screen width: a wrapped line would throw the redraw off.
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    this.frame ??= logUpdate.create(this.out as NodeJS.WriteStream, { showCursor: false });
    this.started = true;
    this.frame(this.lines().map((line) => truncateVisible(line, width)).join('\n'));
  }
}

/** Puts the cursor back if the process is left while a live view hides it. */
export const restoreCursor = (out: Output): void => {
  if (out.isTTY) out.write(CURSOR_SHOW);
};
