import type { DataSource } from 'typeorm';

/**
 * Failed sign-ins and bearer attempts per client address, shared by every replica (table
 * `admin_failed_attempts` of the orchestrator's database): after `limit` failures within
 * `windowMs`, every further attempt from that address is refused (429) by every replica
 * until the oldest failure leaves the window — right token or not, so guessing gains
 * nothing from the refusals, nor from spreading guesses over replicas.
 *
 * Bounded: one row per address holding at most `limit` instants; at most `maxAddresses`
 * rows (the stalest go first); rows idle for a day are pruned by retention
 * (`failedAttemptsRetention`). Times are the database's, so replicas agree on the window.
 */
export class FailedAttempts {
  constructor(
    private readonly dataSource: Pick<DataSource, 'query'>,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Seconds until `address` may try again; 0 when it may now. */
  async blockedFor(address: string): Promise<number> {
    const [row] = (await this.dataSource.query(
      `SELECT ceil(extract(epoch FROM (f + make_interval(secs => $2 / 1000.0)) - now()))::int AS wait
         FROM admin_failed_attempts, LATERAL (
           SELECT f FROM unnest(failures) f WHERE f > now() - make_interval(secs => $2 / 1000.0) ORDER BY f DESC OFFSET $3 - 1 LIMIT 1) recent
        WHERE address = $1`,
      [address, this.windowMs, this.limit],
    )) as { wait: number }[];
    return row ? Math.max(1, row.wait) : 0;
  }

  async fail(address: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO admin_failed_attempts (address, failures, updated_at) VALUES ($1, ARRAY[now()], now())
       ON CONFLICT (address) DO UPDATE SET updated_at = now(), failures = ARRAY(
         SELECT f FROM unnest(admin_failed_attempts.failures || now()) f
          WHERE f > now() - make_interval(secs => $2 / 1000.0) ORDER BY f DESC LIMIT $3)`,
      [address, this.windowMs, this.limit],
    );
    // Past the cap, the stalest addresses go (a spray of addresses cannot grow the table).
    await this.dataSource.query(
      `DELETE FROM admin_failed_attempts WHERE address IN (
         SELECT address FROM admin_failed_attempts ORDER BY updated_at DESC OFFSET $1)`,
      [this.maxAddresses],
    );
  }

  async succeed(address: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM admin_failed_attempts WHERE address = $1`, [address]);
  }
}

/** The peer address of a request (never a forwarded header: a client could write any). */
export const addressOf = (request: { socket?: { remoteAddress?: string | undefined } }): string => (request.socket?.remoteAddress ?? 'unknown').slice(0, 100);
