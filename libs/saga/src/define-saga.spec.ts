import { ReleaseSeat, HoldSeat } from './testing/trip-catalogue';
import { defineSaga, scaleTimings, send, step } from './define-saga';
import { InvalidSagaDefinition } from './errors';
import { redactSagaData } from './redaction';
import { tripSaga } from './testing/trip-saga';

const reserve = send(HoldSeat, (data: { tripId: string }) => ({ tripId: data.tripId, traveller: 'ada', destination: 'Lisbon' }));
const release = send(ReleaseSeat, (data: { tripId: string }) => ({ tripId: data.tripId }));

describe('defineSaga', () => {
  it('resolves timings from the defaults, the step and its compensation', () => {
    const saga = defineSaga<{ tripId: string }>({
      type: 'Timings',
      defaults: { timeout: '10s', retry: { maxAttempts: 4, backoff: '200ms' } },
      stages: [step('Reserve', reserve, { undo: release, timeout: '1m', compensation: { retry: { maxAttempts: 9 } } })],
    });

    const [reserveStep] = saga.steps;
    expect(reserveStep).toMatchObject({ position: 0, timeoutMs: 60_000, compensationTimeoutMs: 60_000 });
    expect(reserveStep?.retry).toMatchObject({ maxAttempts: 4, backoffMs: 200, factor: 2, jitter: 0.2, maxBackoffMs: 30_000 });
    expect(reserveStep?.compensationRetry.maxAttempts).toBe(9);
  });

  it('refuses two steps with one name', () => {
    expect(() => defineSaga({ type: 'Twice', stages: [step('Reserve', reserve), step('Reserve', reserve)] })).toThrow(InvalidSagaDefinition);
  });

  it('refuses a mistyped duration when the saga is defined, not when it runs', () => {
    expect(() => defineSaga({ type: 'Typo', stages: [step('Reserve', reserve, { timeout: '30 s' as never })] })).toThrow(
      /Typo, step Reserve: invalid duration/,
    );
  });

  it('is version 1 unless it says otherwise, and refuses a version that is not a positive integer', () => {
    expect(defineSaga({ type: 'Plain', stages: [step('Reserve', reserve)] }).version).toBe(1);
    expect(defineSaga({ type: 'Second', version: 2, stages: [step('Reserve', reserve)] }).version).toBe(2);
    for (const version of [0, -1, 1.5]) {
      expect(() => defineSaga({ type: 'Odd', version, stages: [step('Reserve', reserve)] })).toThrow(/Odd: version must be a positive integer/);
    }
  });

  it('has no exclusion key unless it declares one, and an empty key excludes nothing', () => {
    expect(defineSaga<{ tripId: string }>({ type: 'Free', stages: [step('Reserve', reserve)] }).exclusionKey({ tripId: 'a' })).toBeNull();
    const keyed = defineSaga<{ tripId: string }>({
      type: 'Keyed',
      stages: [step('Reserve', reserve)],
      exclusionKey: (data) => (data.tripId ? `trip:${data.tripId}` : ''),
    });
    expect(keyed.exclusionKey({ tripId: 'a' })).toBe('trip:a');
    expect(keyed.exclusionKey({ tripId: '' })).toBeNull();
  });

  it('shrinks every timeout and backoff, not the attempt counts, when scaled for tests', () => {
    const fast = scaleTimings(tripSaga, 0.001);
    const database = fast.steps.find((candidate) => candidate.name === 'ChargeCard');

    expect(database).toMatchObject({ timeoutMs: 60, compensationTimeoutMs: 60 });
    expect(database?.retry).toMatchObject({ maxAttempts: 3, backoffMs: 1, maxBackoffMs: 30 });
    expect(fast.timeScale).toBe(0.001);
  });
});

describe('redactSagaData', () => {
  it('hides the keys the definition names, wherever they occur', () => {
    const data = { tripId: 'x', receipt: 'v1.a.b.c', nested: [{ receipt: 'v1.d.e.f', kept: 1 }] };

    expect(redactSagaData(tripSaga, data)).toEqual({ tripId: 'x', receipt: '[redacted]', nested: [{ receipt: '[redacted]', kept: 1 }] });
    expect(data.receipt).toBe('v1.a.b.c');
  });
});
