import { createHash, createHmac } from 'node:crypto';
import { parseScramVerifier, scramSha256Verifier, verifierMatches } from './scram-verifier';

/** RFC 7677 §3: the SCRAM-SHA-256 exchange of user "user" with password "pencil". */
const rfc7677 = {
  password: 'pencil',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  iterations: 4096,
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64'),
  serverSignature: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('SCRAM-SHA-256 verifier', () => {
  it('has the keys that verify the RFC 7677 test exchange, as a server would check it', async () => {
    const verifier = await scramSha256Verifier(rfc7677.password, { salt: rfc7677.salt, iterations: rfc7677.iterations });
    const parsed = parseScramVerifier(verifier)!;
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    // The server proves itself with HMAC(ServerKey, AuthMessage)...
    expect(`v=${createHmac('sha256', parsed.serverKey).update(rfc7677.authMessage).digest('base64')}`).toBe(rfc7677.serverSignature);
    // ...and accepts the client when SHA-256(ClientProof XOR HMAC(StoredKey, AuthMessage)) is StoredKey.
    const clientSignature = createHmac('sha256', parsed.storedKey).update(rfc7677.authMessage).digest();
    const clientKey = Buffer.from(rfc7677.clientProof.map((byte, index) => byte ^ clientSignature[index]!));
    expect(createHash('sha256').update(clientKey).digest()).toEqual(parsed.storedKey);
  });

  it('uses a fresh 16-byte salt and 4096 iterations by default', async () => {
    const first = parseScramVerifier(await scramSha256Verifier('secret-password'))!;
    const second = parseScramVerifier(await scramSha256Verifier('secret-password'))!;
    expect(first.iterations).toBe(4096);
    expect(first.salt).toHaveLength(16);
    expect(first.salt).not.toEqual(second.salt);
  });

  it('tells whether a stored verifier belongs to a password', async () => {
    const verifier = await scramSha256Verifier('right-password');
    expect(await verifierMatches(verifier, 'right-password')).toBe(true);
    expect(await verifierMatches(verifier, 'wrong-password')).toBe(false);
    expect(await verifierMatches('md5abcdef', 'right-password')).toBe(false);
  });

  it('refuses passwords SASLprep might change (non-ASCII, spaces)', async () => {
    await expect(scramSha256Verifier('pässword')).rejects.toThrow(/ASCII/);
    await expect(scramSha256Verifier('two words')).rejects.toThrow(/ASCII/);
  });
});
