import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const SCRAM_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;

export interface ScramKeys {
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/**
 * StoredKey and ServerKey of a password (RFC 5802 §3, SCRAM-SHA-256 of RFC 7677):
 * SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i), ClientKey = HMAC(SaltedPassword,
 * "Client Key"), StoredKey = SHA-256(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key").
 * PBKDF2 runs on libuv's thread pool, not on the event loop.
 *
 * The password must be ASCII (ours are base64url): SASLprep, which Postgres applies
 * first, is then the identity.
 */
export async function scramKeys(password: string, salt: Buffer, iterations: number): Promise<ScramKeys> {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('SCRAM verifiers are computed for printable ASCII passwords only');
  const salted = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}

/**
 * The verifier Postgres stores for a password under password_encryption=scram-sha-256:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64). Handing Postgres
 * this instead of the password means the password never reaches the server, its
 * statement log or pg_stat_activity in cleartext: Postgres stores a value of this form as
 * it is.
 */
export async function scramSha256Verifier(
  password: string,
  options: { salt?: Buffer; iterations?: number } = {},
): Promise<string> {
  const salt = options.salt ?? randomBytes(SCRAM_SALT_BYTES);
  const iterations = options.iterations ?? SCRAM_ITERATIONS;
  const { storedKey, serverKey } = await scramKeys(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

export interface ParsedVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function parseScramVerifier(verifier: string): ParsedVerifier | null {
  const match = VERIFIER.exec(verifier);
  if (!match) return null;
  return {
    iterations: Number(match[1]),
    salt: Buffer.from(match[2]!, 'base64'),
    storedKey: Buffer.from(match[3]!, 'base64'),
    serverKey: Buffer.from(match[4]!, 'base64'),
  };
}

/** Whether `verifier` (as read from pg_authid) was computed from `password`. */
export async function verifierMatches(verifier: string, password: string): Promise<boolean> {
  const parsed = parseScramVerifier(verifier);
  if (!parsed) return false;
  const keys = await scramKeys(password, parsed.salt, parsed.iterations);
  return (
    keys.storedKey.length === parsed.storedKey.length &&
    timingSafeEqual(keys.storedKey, parsed.storedKey) &&
    keys.serverKey.length === parsed.serverKey.length &&
    timingSafeEqual(keys.serverKey, parsed.serverKey)
  );
}
