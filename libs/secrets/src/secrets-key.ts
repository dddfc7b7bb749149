import { createHash } from 'node:crypto';

/** The 32-byte master key every sealed secret derives its own key from (SECRETS_KEY). */
export type SecretsKey = Buffer;

export const SECRETS_KEY_BYTES = 32;

/**
 * A fixed, public key for development only: everything "sealed" with it can be opened
 * by anyone who reads this file. Refused when NODE_ENV=production.
 */
const DEVELOPMENT_KEY = createHash('sha256').update('sitesaga development SECRETS_KEY: not a secret, never use in production').digest();

/** Reads a 32-byte key given as 64 hex digits or as base64 / base64url (padding optional). */
export function parseSecretsKey(text: string): SecretsKey {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const decoded = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (decoded.length === SECRETS_KEY_BYTES) return decoded;
  }
  // Never echo the value: it is (meant to be) the secret.
  throw new Error(`SECRETS_KEY must be ${SECRETS_KEY_BYTES} bytes, given as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`);
}

/** Whether `text` is a valid SECRETS_KEY (for the services' environment schemas). */
export function isSecretsKey(text: string): boolean {
  try {
    parseSecretsKey(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * SECRETS_KEY from the environment. Unset: refused in production; elsewhere a fixed
 * development key, announced loudly through `warn` (stderr by default), so a forgotten
 * key never goes unnoticed but local runs and tests need no setup.
 */
export function secretsKeyFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = (message) => process.stderr.write(`WARNING: ${message}\n`),
): SecretsKey {
  const text = env.SECRETS_KEY;
  if (text !== undefined && text.trim() !== '') {
    const key = parseSecretsKey(text);
    // A key of one repeated byte (all zeros…) or the public development key is no secret.
    if (env.NODE_ENV === 'production' && (key.equals(DEVELOPMENT_KEY) || key.every((byte) => byte === key[0]))) {
      throw new Error('SECRETS_KEY is a placeholder, not a secret: NODE_ENV=production needs a random key (`openssl rand -base64 32`)');
    }
    return key;
  }
  if (env.NODE_ENV === 'production') {
    throw new Error('SECRETS_KEY is required when NODE_ENV=production (32 bytes, hex or base64: `openssl rand -base64 32`)');
  }
  warn(
    'SECRETS_KEY is not set: using the fixed DEVELOPMENT key, which is public. Site database credentials are NOT protected. ' +
      'Set SECRETS_KEY (openssl rand -base64 32) to the same value in databases and bootstrap.',
  );
  return Buffer.from(DEVELOPMENT_KEY);
}
