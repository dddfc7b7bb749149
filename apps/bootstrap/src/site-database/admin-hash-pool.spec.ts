import { AdminHashPool } from './admin-hash-pool';

/** A hash function whose calls finish when the test says so. */
function controlledHashes() {
  const pending: { label: string; resolve: (hash: string) => void; reject: (error: Error) => void }[] = [];
  const make = (label: string) => () =>
    new Promise<string>((resolve, reject) => {
      pending.push({ label, resolve: (hash) => resolve(hash), reject });
    });
  const settle = async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  };
  return {
    pending,
    now: make('now'),
    ahead: make('ahead'),
    /** Finishes the oldest hash in progress with this value. */
    async finish(hash: string) {
      pending.shift()!.resolve(hash);
      await settle();
    },
    async fail(error: Error) {
      pending.shift()!.reject(error);
      await settle();
    },
    settle,
  };
}

describe('AdminHashPool', () => {
  it('fills up to its size one hash at a time, then hands each hash out once, oldest first, and refills', async () => {
    const hashes = controlledHashes();
    const pool = new AdminHashPool(2, hashes.now, hashes.ahead, () => undefined);
    pool.start();
    expect(hashes.pending.map((call) => call.label)).toEqual(['ahead']);
    await hashes.finish('h1');
    expect(hashes.pending.map((call) => call.label)).toEqual(['ahead']);
    await hashes.finish('h2');
    expect(pool.readyCount).toBe(2);
    expect(hashes.pending).toEqual([]);

    await expect(pool.take()).resolves.toBe('h1');
    await expect(pool.take()).resolves.toBe('h2');
    await hashes.settle();
    // Taking started the refill; nothing handed out twice.
    expect(pool.readyCount).toBe(0);
    expect(hashes.pending.map((call) => call.label)).toEqual(['ahead']);
    const stopping = pool.stop();
    await hashes.finish('h3');
    await stopping;
    expect(pool.readyCount).toBe(0);
  });

  it('makes a hash on demand when none is ready, while the refill goes on behind it', async () => {
    const hashes = controlledHashes();
    const pool = new AdminHashPool(1, hashes.now, hashes.ahead, () => undefined);
    pool.start();
    const taken = pool.take();
    expect(hashes.pending.map((call) => call.label)).toEqual(['ahead', 'now']);
    hashes.pending[1]!.resolve('on-demand');
    await expect(taken).resolves.toBe('on-demand');
    hashes.pending.splice(1, 1);
    await hashes.finish('ahead-1');
    expect(pool.readyCount).toBe(1);
    await expect(pool.take()).resolves.toBe('ahead-1');
  });

  it('survives a failed refill: the next take tries again', async () => {
    const errors: unknown[] = [];
    const hashes = controlledHashes();
    const pool = new AdminHashPool(1, hashes.now, hashes.ahead, (error) => errors.push(error));
    pool.start();
    await hashes.fail(new Error('thread pool gone'));
    expect(errors).toHaveLength(1);
    expect(pool.readyCount).toBe(0);
    const taken = pool.take();
    expect(hashes.pending.map((call) => call.label)).toEqual(['ahead', 'now']);
    hashes.pending[1]!.resolve('on-demand');
    await expect(taken).resolves.toBe('on-demand');
  });

  it('keeps nothing after stop, and size 0 never makes a hash ahead', async () => {
    const hashes = controlledHashes();
    const pool = new AdminHashPool(1, hashes.now, hashes.ahead, () => undefined);
    pool.start();
    const stopping = pool.stop();
    await hashes.finish('late');
    await stopping;
    expect(pool.readyCount).toBe(0);

    const off = controlledHashes();
    const none = new AdminHashPool(0, off.now, off.ahead, () => undefined);
    none.start();
    const taken = none.take();
    expect(off.pending.map((call) => call.label)).toEqual(['now']);
    await off.finish('direct');
    await expect(taken).resolves.toBe('direct');
  });
});
