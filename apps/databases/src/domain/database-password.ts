import { randomBytes } from 'node:crypto';

/**
 * A site database password: 32 random bytes as base64url, 43 characters of [A-Za-z0-9_-].
 * ASCII only, so SCRAM's SASLprep leaves it as it is and no quoting can go wrong.
 */
export const generateDatabasePassword = (): string => randomBytes(32).toString('base64url');
