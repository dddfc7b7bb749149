import { randomUUID } from 'node:crypto';
import type { Envelope } from '@sitesaga/message-kit';
import { BusinessRejection, TransientFailure } from '@sitesaga/messaging';
import { FaultInjector, parseFaults } from './fault-injector';

const command = (type: string, payload: Record<string, unknown> = { siteId: 'site-a' }, id: string = randomUUID()): Envelope =>
  ({ id, type, version: 1, sagaId: randomUUID(), correlationId: randomUUID(), causationId: null, occurredAt: new Date().toISOString(), payload }) as Envelope;

describe('parseFaults', () => {
  it('reads command, mode, rate and times', () => {
    expect(parseFaults('ProvisionDatabase=fail@1,BootstrapSite=stall@0.5,ActivateSite=transient*2,ReserveSite=crash@0.25*3')).toEqual([
      { command: 'ProvisionDatabase', mode: 'fail', rate: 1 },
      { command: 'BootstrapSite', mode: 'stall', rate: 0.5 },
      { command: 'ActivateSite', mode: 'transient', rate: 1, times: 2 },
      { command: 'ReserveSite', mode: 'crash', rate: 0.25, times: 3 },
    ]);
  });

  it('refuses a times of 0, past the bound, or not whole', () => {
    expect(() => parseFaults('ActivateSite=transient*0')).toThrow(/times of "ActivateSite=transient\*0" must be a whole number from 1 to 1000/);
    expect(() => parseFaults('ActivateSite=transient*1001')).toThrow(/from 1 to 1000/);
    expect(() => parseFaults('ActivateSite=transient*1.5')).toThrow(/cannot read/);
  });
});

describe('FaultInjector', () => {
  it('without times, hits every attempt of every matching command', () => {
    const faults = new FaultInjector([{ command: 'ActivateSite', mode: 'transient', rate: 1 }], true);
    for (let i = 0; i < 3; i += 1) expect(() => faults.apply(command('ActivateSite'))).toThrow(TransientFailure);
    expect(faults.apply(command('ReserveSite'))).toBe('proceed');
    expect(faults.current()[0]!.fired).toBe(3);
  });

  it('with times 1, hits every attempt of the first command and lets the next command (a retry) through', () => {
    const faults = new FaultInjector([{ command: 'ActivateSite', mode: 'transient', rate: 1, times: 1 }], true);
    const first = command('ActivateSite');
    expect(() => faults.apply(first)).toThrow(TransientFailure);
    expect(() => faults.apply(first)).toThrow(TransientFailure); // the transport's second attempt of the same message
    expect(faults.apply(command('ActivateSite'))).toBe('proceed'); // the orchestrator's retry: a new message
    expect(faults.current()).toEqual([{ command: 'ActivateSite', mode: 'transient', rate: 1, times: 1, fired: 2 }]);
  });

  it('with times 1 and stall, drops the first command only', () => {
    const faults = new FaultInjector([{ command: 'BootstrapSite', mode: 'stall', rate: 1, times: 1 }], true);
    expect(faults.apply(command('BootstrapSite'))).toBe('drop');
    expect(faults.apply(command('BootstrapSite'))).toBe('proceed');
  });

  it('hits only commands whose payload mentions match', () => {
    const faults = new FaultInjector([{ command: 'ReleaseSite', mode: 'fail', rate: 1, match: 'site-b', times: 1 }], true);
    expect(faults.apply(command('ReleaseSite', { siteId: 'site-a' }))).toBe('proceed');
    expect(() => faults.apply(command('ReleaseSite', { siteId: 'site-b' }))).toThrow(BusinessRejection);
    expect(faults.apply(command('ReleaseSite', { siteId: 'site-b' }))).toBe('proceed');
  });

  it('a spent times rule lets a later rule for the same command speak', () => {
    const faults = new FaultInjector(
      [
        { command: 'ReleaseSite', mode: 'transient', rate: 1, times: 1 },
        { command: 'ReleaseSite', mode: 'fail', rate: 1 },
      ],
      true,
    );
    expect(() => faults.apply(command('ReleaseSite'))).toThrow(TransientFailure);
    expect(() => faults.apply(command('ReleaseSite'))).toThrow(BusinessRejection);
  });

  it('keeps the count of a rule that a replaced rule set keeps, and forgets the rest', () => {
    const once = { command: 'ActivateSite', mode: 'transient', rate: 1, times: 1, match: 'site-a' } as const;
    const faults = new FaultInjector([once], true);
    expect(() => faults.apply(command('ActivateSite'))).toThrow(TransientFailure);
    // Another client adds its rule by sending the whole set again: the spent rule stays spent.
    faults.configure([once, { command: 'DropDatabase', mode: 'fail', rate: 1, match: 'site-b' }]);
    expect(faults.apply(command('ActivateSite'))).toBe('proceed');
    expect(faults.current().map((rule) => rule.fired)).toEqual([1, 0]);
    // Dropped and put back: armed again.
    faults.configure([]);
    faults.configure([once]);
    expect(() => faults.apply(command('ActivateSite'))).toThrow(TransientFailure);
  });

  it('refuses an invalid times at run time (PUT /faults)', () => {
    const faults = new FaultInjector([], true);
    expect(() => faults.configure([{ command: 'ActivateSite', mode: 'fail', rate: 1, times: 0 }])).toThrow(/times must be a whole number from 1 to 1000/);
    expect(() => faults.configure([{ command: 'ActivateSite', mode: 'fail', rate: 1, times: 2.5 }])).toThrow(/times/);
  });

  it('leaves a command alone when the rate says so, without spending times', () => {
    const draws = [0.9, 0.1];
    const faults = new FaultInjector([{ command: 'ActivateSite', mode: 'fail', rate: 0.5, times: 1 }], true, () => draws.shift() ?? 0);
    expect(faults.apply(command('ActivateSite'))).toBe('proceed');
    expect(() => faults.apply(command('ActivateSite'))).toThrow(BusinessRejection);
    expect(faults.apply(command('ActivateSite'))).toBe('proceed');
  });
});
