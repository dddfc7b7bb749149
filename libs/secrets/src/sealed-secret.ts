import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SECRETS_KEY_BYTES, type SecretsKey } from './secrets-key';

/**
 * `v1.<iv>.<ciphertext>.<tag>` (base64url): AES-256-GCM of a JSON value. The contracts'
 * `sealedSecret` schema checks this shape; only a holder of SECRETS_KEY can open it.
 */
export type SealedSecret = `v1.${string}`;

export interface SealOptions {
  /**
   * What the secret is for: each purpose seals under its own key derived from SECRETS_KEY
   * (HKDF-SHA256), so a value sealed for one use cannot be opened as another.
   * Default `credentials`, the purpose of the credentials in DatabaseProvisioned.
   */
  readonly purpose?: string;
  /**
   * Bound to the ciphertext as GCM additional data (e.g. the site id): opening with
   * another context fails, so one site's sealed secret cannot be replayed for another.
   */
  readonly context?: string;
}

/** Thrown when a sealed secret is malformed, tampered with, or sealed under another key, purpose or context. */
export class SecretOpeningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretOpeningError';
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const SHAPE = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

const derivedKeys = new WeakMap<SecretsKey, Map<string, Buffer>>();

/** The AES key of one purpose (cached per master key: HKDF is cheap, but this is per command). */
export function purposeKey(key: SecretsKey, purpose: string): Buffer {
  if (key.length !== SECRETS_KEY_BYTES) throw new Error(`a secrets key has ${SECRETS_KEY_BYTES} bytes, got ${key.length}`);
  let byPurpose = derivedKeys.get(key);
  if (!byPurpose) derivedKeys.set(key, (byPurpose = new Map()));
  let derived = byPurpose.get(purpose);
  if (!derived) {
    derived = Buffer.from(hkdfSync('sha256', key, 'sitesaga/sealed-secret', `sitesaga/${purpose}/v1`, 32));
    byPurpose.set(purpose, derived);
  }
  return derived;
}

const additionalData = (purpose: string, context: string | undefined): Buffer => Buffer.from(`v1|${purpose}|${context ?? ''}`, 'utf8');

/** Seals a JSON-serialisable value. A fresh random IV each time: two seals of one value differ. */
export function sealSecret(key: SecretsKey, value: unknown, options: SealOptions = {}): SealedSecret {
  const purpose = options.purpose ?? 'credentials';
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', purposeKey(key, purpose), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(purpose, options.context));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `v1.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

/** Opens a sealed secret; throws SecretOpeningError (never revealing any content) when it does not open. */
export function openSecret<T = unknown>(key: SecretsKey, sealed: string, options: SealOptions = {}): T {
  const purpose = options.purpose ?? 'credentials';
  const parts = SHAPE.exec(sealed);
  if (!parts) throw new SecretOpeningError('not a sealed secret (expected v1.<iv>.<ciphertext>.<tag>)');
  const iv = Buffer.from(parts[1]!, 'base64url');
  const ciphertext = Buffer.from(parts[2]!, 'base64url');
  const tag = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretOpeningError('sealed secret has a malformed iv or tag');
  let plaintext: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', purposeKey(key, purpose), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(purpose, options.context));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretOpeningError('sealed secret does not open: tampered, or sealed under another key, purpose or context');
  }
  try {
    return JSON.parse(plaintext) as T;
  } catch {
    throw new SecretOpeningError('sealed secret does not hold JSON');
  }
}
