import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { generateDatabasePassword } from './database-password';
import { parseScramVerifier, scramKeys, scramSha256Verifier, verifierMatches } from './scram-verifier';

/**
 * Against the real server: the local one trusts every connection, so a login cannot
 * prove the verifier; Postgres' own SCRAM computation can. Needs a superuser to read
 * pg_authid.
 */
describe('SCRAM-SHA-256 verifier against Postgres', () => {
  const role = `sitesaga_scram_test_${randomBytes(4).toString('hex')}`;
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await client.connect();
  });

  afterAll(async () => {
    await client.query(`DROP ROLE IF EXISTS "${role}"`);
    await client.end();
  });

  const storedVerifier = async (): Promise<string> =>
    (await client.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0]!.rolpassword;

  it('computes the keys Postgres computes for the same password, salt and iterations', async () => {
    const password = generateDatabasePassword();
    await client.query(`SET password_encryption = 'scram-sha-256'`);
    await client.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
    const theirs = parseScramVerifier(await storedVerifier())!;
    const ours = await scramKeys(password, theirs.salt, theirs.iterations);
    expect(ours.storedKey).toEqual(theirs.storedKey);
    expect(ours.serverKey).toEqual(theirs.serverKey);
    expect(await verifierMatches(await storedVerifier(), password)).toBe(true);
  });

  it('is stored by Postgres as given, not hashed again', async () => {
    const password = generateDatabasePassword();
    const verifier = await scramSha256Verifier(password);
    await client.query(`ALTER ROLE "${role}" PASSWORD '${verifier}'`);
    expect(await storedVerifier()).toBe(verifier);
    expect(await verifierMatches(await storedVerifier(), password)).toBe(true);
  });
});
