/**
 * Admin password hashes made ahead of time. The admin password of a new site is random and
 * thrown away the moment it is hashed (the customer sets theirs by email), so a hash made a
 * minute earlier is exactly as good as one made now: the pool keeps `size` of them ready and
 * a bootstrap takes one instead of waiting the ~70 ms of CPU that bcrypt costs, most of its
 * critical path. Each hash is handed out once; the pool lives in memory only (a restart
 * starts empty and refills). With the pool empty (a burst), a hash is made on demand, as
 * before, and the refill runs one hash at a time behind it.
 */
export class AdminHashPool {
  private readonly ready: string[] = [];
  private refilling: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly size: number,
    /** Makes one hash on demand (the caller waits for it). */
    private readonly makeNow: () => Promise<string>,
    /** Makes one hash for the pool: yields to any demand waiting (the installer's queue). */
    private readonly makeAhead: () => Promise<string>,
    private readonly onRefillError: (error: unknown) => void,
  ) {}

  /** Hashes ready to be taken now. */
  get readyCount(): number {
    return this.ready.length;
  }

  start(): void {
    this.stopped = false;
    this.refill();
  }

  /** No new hash is started; the one being made is waited for; the ready ones are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.refilling;
    this.ready.length = 0;
  }

  /** A hash made ahead when one is ready, else one made now; either way the pool refills. */
  take(): Promise<string> {
    const ready = this.ready.shift();
    this.refill();
    return ready !== undefined ? Promise.resolve(ready) : this.makeNow();
  }

  private refill(): void {
    if (this.refilling || this.stopped || this.ready.length >= this.size) return;
    this.refilling = (async () => {
      while (!this.stopped && this.ready.length < this.size) {
        const made = await this.makeAhead();
        if (!this.stopped) this.ready.push(made);
      }
    })()
      .catch(this.onRefillError) // the next take() tries again
      .finally(() => {
        this.refilling = null;
      });
  }
}
