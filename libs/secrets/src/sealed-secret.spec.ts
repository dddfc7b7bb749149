import { randomBytes } from 'node:crypto';
import { openSecret, sealSecret, SecretOpeningError } from './sealed-secret';
import { parseSecretsKey, secretsKeyFromEnv } from './secrets-key';

const key = randomBytes(32);
const login = { user: 'site_0123', password: 'correct horse battery staple' };

describe('sealed secrets', () => {
  it('opens what it sealed, in the contracts\' v1.<iv>.<ciphertext>.<tag> shape, without the plaintext in it', () => {
    const sealed = sealSecret(key, login);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('horse');
    expect(Buffer.from(sealed, 'utf8').toString('base64')).not.toContain(Buffer.from('horse').toString('base64'));
    expect(openSecret(key, sealed)).toEqual(login);
  });

  it('seals the same value differently each time (fresh iv)', () => {
    expect(sealSecret(key, login)).not.toEqual(sealSecret(key, login));
  });

  it('refuses another key, another purpose, another context, a flipped bit and garbage', () => {
    const sealed = sealSecret(key, login, { context: 'site-a' });
    expect(openSecret(key, sealed, { context: 'site-a' })).toEqual(login);
    expect(() => openSecret(randomBytes(32), sealed, { context: 'site-a' })).toThrow(SecretOpeningError);
    expect(() => openSecret(key, sealed, { context: 'site-b' })).toThrow(SecretOpeningError);
    expect(() => openSecret(key, sealed)).toThrow(SecretOpeningError);
    expect(() => openSecret(key, sealed, { context: 'site-a', purpose: 'at-rest' })).toThrow(SecretOpeningError);
    const [version, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string];
    const bytes = Buffer.from(ciphertext, 'base64url');
    bytes[0] = bytes[0]! ^ 1;
    expect(() => openSecret(key, [version, iv, bytes.toString('base64url'), tag].join('.'), { context: 'site-a' })).toThrow(SecretOpeningError);
    expect(() => openSecret(key, 'v1.AAAA.AAAA.AAAA')).toThrow(/malformed/);
    expect(() => openSecret(key, '"; drop database postgres;--')).toThrow(/not a sealed secret/);
  });

  it('never puts the sealed value in its error messages', () => {
    const sealed = sealSecret(key, login);
    try {
      openSecret(randomBytes(32), sealed);
    } catch (error) {
      expect((error as Error).message).not.toContain(sealed);
      expect((error as Error).message).not.toContain('horse');
    }
  });
});

describe('SECRETS_KEY', () => {
  const hex = randomBytes(32).toString('hex');

  it('reads 64 hex digits, base64 and base64url to the same 32 bytes', () => {
    const bytes = Buffer.from(hex, 'hex');
    expect(parseSecretsKey(hex)).toEqual(bytes);
    expect(parseSecretsKey(bytes.toString('base64'))).toEqual(bytes);
    expect(parseSecretsKey(bytes.toString('base64url'))).toEqual(bytes);
    expect(secretsKeyFromEnv({ SECRETS_KEY: ` ${hex}\n` })).toEqual(bytes);
  });

  it('refuses a key of the wrong length without echoing it', () => {
    expect(() => parseSecretsKey('c2hvcnQ=')).toThrow(/32 bytes/);
    expect(() => parseSecretsKey('not a key at all, much too long to be one')).toThrow(/32 bytes/);
    try {
      parseSecretsKey('my-weak-secret');
    } catch (error) {
      expect((error as Error).message).not.toContain('my-weak-secret');
    }
  });

  it('uses a fixed development key with a warning when unset outside production, and refuses to start in production', () => {
    const warnings: string[] = [];
    const first = secretsKeyFromEnv({ NODE_ENV: 'development' }, (message) => warnings.push(message));
    const second = secretsKeyFromEnv({}, (message) => warnings.push(message));
    expect(first).toHaveLength(32);
    expect(first).toEqual(second);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/DEVELOPMENT key/);
    expect(() => secretsKeyFromEnv({ NODE_ENV: 'production' })).toThrow(/SECRETS_KEY is required/);
    expect(() => secretsKeyFromEnv({ NODE_ENV: 'production', SECRETS_KEY: '' })).toThrow(/SECRETS_KEY is required/);
  });
});
