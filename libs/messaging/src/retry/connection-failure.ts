/** Node socket errors: nobody answered, or the connection broke. */
const CONNECTION_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * SQLSTATEs that say the server is not there for us right now, whatever we sent:
 * connection exceptions (08xxx), admin or crash shutdown and "the database system is
 * starting up / shutting down" (57P01–57P03), too many connections (53300). Not 08P01
 * (protocol violation): that is how Postgres refuses some input (a NUL byte in a bind
 * parameter), and retrying input forever would block its partition forever.
 */
const isConnectionSqlState = (code: string): boolean => (code.startsWith('08') && code !== '08P01') || /^57P0[1-3]$/.test(code) || code === '53300';

/** What pg and pg-pool say when the socket is gone or never came, without a code. */
const CONNECTION_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection lost|Client was closed and is not queryable|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * True when an error means a database (the service's own, or the site server) could not
 * be reached or dropped the connection: an outage, which lasts as long as it lasts and
 * says nothing about the command. Unlike a deadlock or a serialization failure, which a
 * few retries cure, such an error must delay the work, never fail it. Follows the error's
 * `cause` chain and TypeORM's `driverError`, so a `TransientFailure` wrapping a lost
 * connection counts too.
 */
export function isConnectionFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const candidate = error as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof candidate.code === 'string') {
    if (CONNECTION_NODE_CODES.has(candidate.code)) return true;
    if (/^[0-9A-Z]{5}$/.test(candidate.code) && isConnectionSqlState(candidate.code)) return true;
  }
  if (typeof candidate.message === 'string' && CONNECTION_MESSAGE.test(candidate.message)) return true;
  // Node's AggregateError (a host name resolving to several addresses, all refusing).
  if (Array.isArray(candidate.errors) && candidate.errors.some((inner) => isConnectionFailure(inner, depth + 1))) return true;
  return isConnectionFailure(candidate.driverError, depth + 1) || isConnectionFailure(candidate.cause, depth + 1);
}
