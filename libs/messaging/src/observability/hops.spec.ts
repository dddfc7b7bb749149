import { CAUSE_HOPS_HEADER, hopHeaders, hopsOf, MAX_HOP_MS, OUTBOX_AT_HEADER, receivedHops } from './hops';
import { parseTraceparent, traceparentOf } from './tracing';

const message = (headers: Record<string, unknown>, timestamp = '1700000000100') => ({ headers: headers as never, timestamp });

describe('hop headers', () => {
  it('measures the outbox and broker legs of a message and carries its receiver-side legs on', () => {
    const received = receivedHops(message({ [OUTBOX_AT_HEADER]: Buffer.from('1700000000090'), [CAUSE_HOPS_HEADER]: Buffer.from('1,2,3') }), 1_700_000_000_130);
    expect(received).toEqual({ fetchedAt: 1_700_000_000_130, outboxMs: 10, brokerMs: 30, cause: { outboxMs: 1, brokerMs: 2, handlerMs: 3 } });
    expect(hopsOf(received, 1_700_000_000_180)).toEqual({ outboxMs: 10, brokerMs: 30, handlerMs: 50 });
    expect(hopHeaders(1_700_000_000_180, received)).toEqual({ [OUTBOX_AT_HEADER]: '1700000000180', [CAUSE_HOPS_HEADER]: '10,30,50' });
    expect(hopHeaders(5, undefined)).toEqual({ [OUTBOX_AT_HEADER]: '5' });
  });

  it.each([
    ['huge', { [OUTBOX_AT_HEADER]: '9'.repeat(5_000), [CAUSE_HOPS_HEADER]: `1,2,${'9'.repeat(5_000)}` }],
    ['non-numeric', { [OUTBOX_AT_HEADER]: 'yesterday', [CAUSE_HOPS_HEADER]: 'a,b,c' }],
    ['negative', { [OUTBOX_AT_HEADER]: '-1700000000090', [CAUSE_HOPS_HEADER]: '-5,-3,-1' }],
    ['implausible', { [OUTBOX_AT_HEADER]: '1', [CAUSE_HOPS_HEADER]: `${MAX_HOP_MS + 1},0,0` }],
    ['repeated', { [OUTBOX_AT_HEADER]: [Buffer.from('1700000000090'), Buffer.from('1')], [CAUSE_HOPS_HEADER]: [Buffer.from('1,2,3')] }],
    ['binary', { [OUTBOX_AT_HEADER]: Buffer.from([0xff, 0x00, 0x31]), [CAUSE_HOPS_HEADER]: Buffer.from([0x31, 0x2c, 0x00]) }],
  ])('ignores %s header values: the leg is unknown, nothing throws', (_, headers) => {
    const received = receivedHops(message(headers), 1_700_000_000_130);
    expect(received.outboxMs).toBeNull();
    expect(received.cause).toBeNull();
    expect(received.brokerMs).toBe(30);
    expect(hopsOf(received, 1_700_000_000_180)).toBeNull();
    expect(hopHeaders(1_700_000_000_180, received)).toEqual({ [OUTBOX_AT_HEADER]: '1700000000180' });
  });

  it('counts a small clock skew between hosts as 0, never negative', () => {
    const received = receivedHops(message({ [OUTBOX_AT_HEADER]: '1700000000200' }), 1_700_000_000_050);
    expect(received).toMatchObject({ outboxMs: 0, brokerMs: 0 });
  });

  it('takes only well-formed W3C traceparents', () => {
    const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(good)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 });
    expect(traceparentOf({ traceparent: Buffer.from(good) })).toBe(good);
    for (const bad of ['00-zzzz-not-a-trace', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, good.toUpperCase(), `${good}x`, 'x'.repeat(10_000)]) {
      expect(parseTraceparent(traceparentOf({ traceparent: Buffer.from(bad) }))).toBeNull();
    }
  });
});
