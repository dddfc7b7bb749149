import { DatabaseError } from 'pg';
import { TransientFailure } from './failure-classification';
import { isConnectionFailure } from './connection-failure';

const sqlError = (code: string, message = 'server said no'): DatabaseError => Object.assign(new DatabaseError(message, 0, 'error'), { code });

describe('isConnectionFailure', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a connection the server dropped', new Error('Connection terminated unexpectedly')],
    ['a pool checkout that timed out', new Error('timeout exceeded when trying to connect')],
    ['an admin shutdown (pg_terminate_backend, server stop)', sqlError('57P01', 'terminating connection due to administrator command')],
    ['a server still starting up', sqlError('57P03', 'the database system is starting up')],
    ['a connection failure', sqlError('08006')],
    ['too many connections', sqlError('53300')],
    [
      'a TypeORM QueryFailedError around a lost connection',
      Object.assign(new Error('query failed'), { driverError: new Error('Connection terminated unexpectedly') }),
    ],
    ['a TransientFailure caused by a lost connection', new TransientFailure('DDL failed', { cause: sqlError('57P01') })],
  ])('says yes for %s', (_, error) => expect(isConnectionFailure(error)).toBe(true));

  it.each([
    ['a deadlock', sqlError('40P01')],
    ['a serialization failure', sqlError('40001')],
    ['a lock timeout', sqlError('55P03')],
    ['a NUL byte refused as a protocol violation (input, not an outage)', sqlError('08P01', 'invalid message format')],
    ['a NUL byte refused as an invalid encoding', sqlError('22021')],
    ['a unique violation', sqlError('23505')],
    ['a plain bug', new TypeError('cannot read properties of undefined')],
    ['a TransientFailure of its own (template1 in use)', new TransientFailure('template1 is in use')],
    ['nothing at all', undefined],
  ])('says no for %s', (_, error) => expect(isConnectionFailure(error)).toBe(false));
});
