import { COMMAND_NAMES, COMMANDS, type CommandName, type CommandSpec } from './command-line';

/** Help generated from the command table, so it cannot drift from what the parser accepts. */
export function generalHelp(): string {
  const width = Math.max(...COMMAND_NAMES.map((name) => name.length));
  return [
    'saga: the operators\' command line of the site-saga platform',
    '',
    'usage: saga <command> [options]      saga <command> --help',
    '',
    'commands:',
    ...COMMAND_NAMES.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name].summary}`),
    '',
    'environment:',
    '  ADMIN_URL           admin API of site-saga (default http://localhost:3000)',
    '  ADMIN_TOKEN         bearer token of the admin API (locally: .local/admin-token is read when unset)',
    '  SITES_URL           sites HTTP API, for --via http (default http://localhost:3001)',
    '  KAFKA_BROKERS       comma-separated brokers, for --via kafka (default 127.0.0.1:9092)',
    '  KAFKA_TOPIC_PREFIX  prefix of the wire topic names (default none)',
    '  KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD',
    '                      log in to Kafka (scram-sha-256; the principal sitesaga-cli), KAFKA_SSL=1 for TLS',
    '  NO_COLOR            set to turn colours off',
    '',
    'exit codes: 0 ok or saga COMPLETED, 1 saga COMPENSATED/FAILED or request refused,',
    '            2 usage error, 3 connection or authentication error, 130 interrupted',
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const flag = (option: string) => {
    const definition = spec.options[option]!;
    return `${definition.short ? `-${definition.short}, ` : '    '}--${option}${definition.value ? ` <${definition.value}>` : ''}`;
  };
  const names = Object.keys(spec.options);
  const width = Math.max(...names.map((option) => flag(option).length));
  const required = name === 'create-site' ? ' --name <name> --domain <domain> --admin-email <email>' : '';
  return [
    `saga ${name}: ${spec.summary}`,
    '',
    `usage: saga ${name}${spec.positionals.map((positional) => ` <${positional}>`).join('')}${required} [options]`,
    '',
    'options:',
    ...names.map((option) => `  ${flag(option).padEnd(width)}  ${spec.options[option]!.description}`),
    '',
    'examples:',
    ...spec.examples.map((example) => `  ${example}`),
  ].join('\n');
}
