/** One dispatched Server-Sent Event. */
export interface ServerSentEvent {
  /** The `event:` field; `message` when the frame named none. */
  readonly event: string;
  /** The `data:` lines joined with "\n". */
  readonly data: string;
  /** The last `id:` seen so far (the stream's last event id). */
  readonly id: string | null;
  /** A `retry:` the server asked for, in milliseconds. */
  readonly retry: number | null;
}

/**
 * Incremental parser of a `text/event-stream` body (the WHATWG "event stream
 * interpretation"): feed it decoded text in chunks of any size, get whole events back.
 * Lines end with CRLF, LF or CR; a blank line dispatches; `:` lines are comments
 * (heartbeats); a frame with no data dispatches nothing.
 */
export class SseParser {
  private buffer = '';
  private eventType = '';
  private dataLines: string[] = [];
  private lastEventId: string | null = null;
  private retry: number | null = null;

  push(text: string): ServerSentEvent[] {
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (;;) {
      const end = this.lineEnd(start);
      if (end === null) break;
      const line = this.buffer.slice(start, end.at);
      start = end.next;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** Comments seen (`: heartbeat`), for callers that want to know the stream is alive. */
  comments = 0;

  private lineEnd(from: number): { at: number; next: number } | null {
    for (let index = from; index < this.buffer.length; index += 1) {
      const char = this.buffer[index];
      if (char === '\n') return { at: index, next: index + 1 };
      if (char === '\r') {
        // A CR at the end of what we have may be the first half of a CRLF: wait for more.
        if (index + 1 >= this.buffer.length) return null;
        return { at: index, next: this.buffer[index + 1] === '\n' ? index + 2 : index + 1 };
      }
    }
    return null;
  }

  private line(line: string): ServerSentEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.comments += 1;
      return null;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\u0000')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): ServerSentEvent | null {
    const data = this.dataLines;
    const type = this.eventType;
    this.dataLines = [];
    this.eventType = '';
    if (data.length === 0) return null;
    return { event: type === '' ? 'message' : type, data: data.join('\n'), id: this.lastEventId, retry: this.retry };
  }
}
