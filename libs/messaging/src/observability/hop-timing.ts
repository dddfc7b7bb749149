import { openSync, writeSync } from 'node:fs';

/**
 * Per-hop timestamps for benchmarks: with MESSAGING_HOP_TIMING_FILE set, the relay and the
 * transport append one JSON line per message and stage (epoch ms, from this process's
 * clock). Off by default: then `hopTiming` is null and nothing is recorded or allocated.
 * Lines are buffered and written in blocks, so that measuring costs almost nothing.
 */
class HopTiming {
  private readonly fd: number;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(path: string) {
    this.fd = openSync(path, 'a');
    process.once('exit', () => this.flush());
  }

  record(entry: Record<string, unknown>): void {
    this.buffer.push(JSON.stringify(entry));
    if (this.buffer.length >= 500) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 200).unref();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return;
    const lines = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    writeSync(this.fd, lines);
  }
}

export const hopTiming: HopTiming | null = process.env.MESSAGING_HOP_TIMING_FILE ? new HopTiming(process.env.MESSAGING_HOP_TIMING_FILE) : null;
