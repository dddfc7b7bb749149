import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configFrom, displayUrl } from './cli-config';
import { UsageError } from './cli-errors';

describe('CLI configuration', () => {
  const withLocalToken = (token: string): string => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'saga-cli-'));
    fs.mkdirSync(path.join(directory, '.local'));
    fs.writeFileSync(path.join(directory, '.local', 'admin-token'), `${token}\n`);
    return directory;
  };

  it('defaults to the local services and broker', () => {
    expect(configFrom({}, {}, os.tmpdir())).toEqual({
      adminUrl: 'http://localhost:3000',
      adminToken: null,
      sitesUrl: 'http://localhost:3001',
      kafkaBrokers: ['127.0.0.1:9092'],
      topicPrefix: '',
      kafkaSecurity: {},
    });
  });

  it('logs in to Kafka with SASL when KAFKA_SASL_MECHANISM is set, and refuses half a login', () => {
    const env = { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'sitesaga-cli', KAFKA_SASL_PASSWORD: 'secret-0123456789', KAFKA_SSL: '1' };
    expect(configFrom(env, {}, os.tmpdir()).kafkaSecurity).toEqual({ ssl: true, sasl: { mechanism: 'scram-sha-256', username: 'sitesaga-cli', password: 'secret-0123456789' } });
    expect(() => configFrom({ KAFKA_SASL_MECHANISM: 'scram-sha-256' }, {}, os.tmpdir())).toThrow(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    expect(() => configFrom({ ...env, KAFKA_SASL_MECHANISM: 'gssapi' }, {}, os.tmpdir())).toThrow(/KAFKA_SASL_MECHANISM must be one of/);
  });

  it('takes --token over ADMIN_TOKEN over the local token file', () => {
    const cwd = withLocalToken('from-file');
    expect(configFrom({}, {}, cwd).adminToken).toEqual({ value: 'from-file', source: '.local/admin-token' });
    expect(configFrom({ ADMIN_TOKEN: 'from-env' }, {}, cwd).adminToken).toEqual({ value: 'from-env', source: 'ADMIN_TOKEN' });
    expect(configFrom({ ADMIN_TOKEN: 'from-env' }, { token: 'from-flag' }, cwd).adminToken).toEqual({ value: 'from-flag', source: 'option --token' });
  });

  it('never sends the local token file to a remote admin API', () => {
    const cwd = withLocalToken('from-file');
    expect(configFrom({ ADMIN_URL: 'https://admin.example.com' }, {}, cwd).adminToken).toBeNull();
  });

  it('reads the spec variables and refuses bad ones', () => {
    const config = configFrom({ ADMIN_URL: 'http://saga:3000/', KAFKA_BROKERS: 'a:9092, b:9092', KAFKA_TOPIC_PREFIX: 't-x.', SITES_URL: 'http://sites:3001' }, {}, os.tmpdir());
    expect(config).toMatchObject({ adminUrl: 'http://saga:3000', kafkaBrokers: ['a:9092', 'b:9092'], topicPrefix: 't-x.', sitesUrl: 'http://sites:3001' });
    expect(() => configFrom({ ADMIN_URL: 'nope' }, {}, os.tmpdir())).toThrow(UsageError);
    expect(() => configFrom({ KAFKA_TOPIC_PREFIX: 'a b' }, {}, os.tmpdir())).toThrow(/KAFKA_TOPIC_PREFIX/);
  });

  it('shows URLs without credentials', () => {
    expect(displayUrl('http://user:secret@admin:3000/')).toBe('http://admin:3000');
  });
});
