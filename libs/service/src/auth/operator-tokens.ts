import { createHash, timingSafeEqual } from 'node:crypto';

/** A header value as Node gives it. */
export type HeaderValue = string | string[] | undefined;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
const single = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The token of `Authorization: Bearer <token>`, if the header has that form. */
export function bearerOf(authorization: HeaderValue): string | undefined {
  const header = single(authorization);
  const match = header ? /^Bearer[ ]+(\S+)[ ]*$/i.exec(header) : null;
  return match?.[1];
}

export const OPERATOR_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
export const MIN_TOKEN_LENGTH = 16;

/** What an example file or a tutorial suggests, or one character repeated: never a real secret. */
const PLACEHOLDER = /change[-_ ]?me|replace[-_ ]?me|your[-_ ]?(?:token|secret|key)|^(?:secret|password|token|admin|example)$/i;

export function isPlaceholderSecret(value: string): boolean {
  const text = value.trim();
  return PLACEHOLDER.test(text) || /^(.)\1*$/.test(text);
}

/**
 * `name:secret` pairs separated by commas (SITES_CLIENT_KEYS, ADMIN_TOKENS). A name may
 * appear several times: each of its secrets works, so a secret is rotated by adding the new
 * one, moving the callers, then removing the old one. Errors never echo a secret.
 */
export function parseNamedSecrets(variable: string, text: string | undefined): { name: string; secret: string }[] {
  if (!text?.trim()) return [];
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const separator = entry.indexOf(':');
      const name = separator > 0 ? entry.slice(0, separator) : '';
      const secret = separator > 0 ? entry.slice(separator + 1) : '';
      if (!OPERATOR_NAME.test(name)) throw new Error(`${variable}: entry ${index + 1} must be name:secret with a name of letters, digits, ".", "_", "@" or "-"`);
      if (secret.length < MIN_TOKEN_LENGTH || secret.length > 4096 || /\s/.test(secret)) {
        throw new Error(`${variable}: the secret of "${name}" must be ${MIN_TOKEN_LENGTH} to 4096 characters without spaces`);
      }
      if (isPlaceholderSecret(secret)) throw new Error(`${variable}: the secret of "${name}" is a placeholder, not a secret`);
      return { name, secret };
    });
}

/**
 * The operators' tokens: ADMIN_TOKEN (named `admin`) and the named tokens of ADMIN_TOKENS
 * (`alice:<token>,bob:<token>`), so that what an operator did is recorded under a name.
 * Tokens are kept as SHA-256 digests and compared in constant time, every one of them, so
 * neither the match nor the lengths leak through timing.
 */
export class OperatorTokens {
  private readonly tokens: readonly { name: string; digest: Buffer }[];

  constructor(tokens: readonly { name: string; secret: string }[]) {
    this.tokens = tokens.map(({ name, secret }) => ({ name, digest: digest(secret) }));
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): OperatorTokens {
    const main = env.ADMIN_TOKEN?.trim();
    return new OperatorTokens([...(main ? [{ name: 'admin', secret: main }] : []), ...parseNamedSecrets('ADMIN_TOKENS', env.ADMIN_TOKENS)]);
  }

  get configured(): boolean {
    return this.tokens.length > 0;
  }

  /** The operator's name, or null when the candidate is no operator token. */
  identify(candidate: unknown): string | null {
    if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 4096) return null;
    const presented = digest(candidate);
    let found: string | null = null;
    for (const token of this.tokens) {
      if (timingSafeEqual(presented, token.digest) && found === null) found = token.name;
    }
    return found;
  }
}
