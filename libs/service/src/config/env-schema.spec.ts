import { z } from 'zod';
import { InvalidEnvironment, SERVICE_ENV, validateEnvironment } from './env-schema';

describe('a service environment schema', () => {
  const schema = SERVICE_ENV.extend({ STORAGE_ROOT: z.string({ required_error: 'is required' }).min(1, 'is required') });

  it('passes an environment with every value valid or unset, and variables it does not name', () => {
    expect(() => validateEnvironment(schema, { STORAGE_ROOT: '/srv', HANDLER_ATTEMPTS: '3', PORT: '', PATH: '/usr/bin' })).not.toThrow();
  });

  it('names every bad variable at once, never a value', () => {
    let thrown: unknown;
    try {
      validateEnvironment(schema, { HANDLER_ATTEMPTS: 'many', PORT: '70000', DATABASE_URL: 'secret-password@nowhere', KAFKA_TOPIC_PREFIX: 'a/b' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidEnvironment);
    const problems = (thrown as InvalidEnvironment).problems;
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'HANDLER_ATTEMPTS', 'KAFKA_TOPIC_PREFIX', 'PORT', 'STORAGE_ROOT']);
    expect((thrown as Error).message).toContain('5 errors');
    expect((thrown as Error).message).not.toContain('secret-password');
  });
});
