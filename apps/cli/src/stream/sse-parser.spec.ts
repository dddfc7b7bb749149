import { SseParser } from './sse-parser';

describe('SseParser', () => {
  it('parses the admin stream frames: a named saga event with JSON data, skipping the connect comment', () => {
    const parser = new SseParser();
    const events = parser.push('retry: 3000\n: connected\n\nevent: saga\ndata: {"id":"a","status":"RUNNING"}\n\n');
    expect(events).toEqual([{ event: 'saga', data: '{"id":"a","status":"RUNNING"}', id: null, retry: 3000 }]);
    expect(parser.comments).toBe(1);
  });

  it('reassembles a frame split across chunks at any byte, CRLF included', () => {
    const frame = 'event: saga\r\ndata: {"id":"b"}\r\n\r\n';
    for (let cut = 1; cut < frame.length; cut += 1) {
      const parser = new SseParser();
      const events = [...parser.push(frame.slice(0, cut)), ...parser.push(frame.slice(cut))];
      expect(events).toEqual([{ event: 'saga', data: '{"id":"b"}', id: null, retry: null }]);
    }
  });

  it('joins several data lines with newlines and defaults the event name to message', () => {
    const parser = new SseParser();
    expect(parser.push('data: one\ndata:two\ndata\n\n')).toEqual([{ event: 'message', data: 'one\ntwo\n', id: null, retry: null }]);
  });

  it('dispatches nothing for a frame without data, and resets the event name after each frame', () => {
    const parser = new SseParser();
    expect(parser.push('event: saga\n\n: heartbeat\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x', id: null, retry: null }]);
  });

  it('treats a lone CR as a line end, keeps the last id and ignores unknown fields', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\rfoo: bar\revent: saga\rdata: y\r\r')).toEqual([]); // the final CR may still be half of a CRLF
    expect(parser.push('event: saga\ndata: z\n\n')).toEqual([
      { event: 'saga', data: 'y', id: '7', retry: null },
      { event: 'saga', data: 'z', id: '7', retry: null },
    ]);
  });

  it('keeps an unfinished frame until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('event: saga\ndata: {"id":"c"}\n')).toEqual([]);
    expect(parser.push('\n')).toHaveLength(1);
  });
});
