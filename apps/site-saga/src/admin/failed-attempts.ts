/**
 * Failed sign-ins and bearer attempts per client address, on this replica: after `limit`
 * failures within `windowMs`, every further attempt from that address is refused (429)
 * until the oldest failure leaves the window — right token or not, so guessing gains
 * nothing from the refusals. Bounded: at most `maxAddresses` addresses are tracked, the
 * stalest dropped first.
 */
export class FailedAttempts {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxAddresses = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Seconds until `address` may try again; 0 when it may now. */
  blockedFor(address: string): number {
    const recent = this.recent(address);
    if (recent.length < this.limit) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.limit]! + this.windowMs - this.clock()) / 1000));
  }

  fail(address: string): void {
    const recent = this.recent(address);
    recent.push(this.clock());
    this.failures.delete(address); // re-inserted last: the Map's order is staleness
    this.failures.set(address, recent.slice(-this.limit));
    while (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string): number[] {
    const since = this.clock() - this.windowMs;
    return (this.failures.get(address) ?? []).filter((at) => at > since);
  }
}

/** The peer address of a request (never a forwarded header: a client could write any). */
export const addressOf = (request: { socket?: { remoteAddress?: string | undefined } }): string => request.socket?.remoteAddress ?? 'unknown';
