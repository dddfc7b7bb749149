import { Command, CommanderError, Option } from 'commander';
import { SAGA_STATUSES, type SagaStatus } from '../admin/admin-views';
import { UsageError } from '../cli-errors';
import { BULK_COMMANDS, type BulkInvocation, parseBulkCommand } from './bulk-command-line';
import { ORPHAN_KINDS } from '@sitesaga/http-contracts';

/**
 * The command line as data: every command, its positionals and options (which the help
 * text is generated from), and a pure parser from argv to a typed invocation.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder in help: `--name <name>`. */
  readonly value?: string;
  readonly description: string;
}

export interface CommandSpec {
  readonly summary: string;
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
}

const adminOptions: Record<string, OptionSpec> = {
  'admin-url': { type: 'string', value: 'url', description: 'admin API of site-saga (ADMIN_URL, default http://localhost:3000)' },
  token: { type: 'string', value: 'token', description: 'admin token (ADMIN_TOKEN; prefer the variable: arguments show in ps)' },
};
const json: Record<string, OptionSpec> = { json: { type: 'boolean', description: 'print the raw JSON instead of a table' } };
const follow: Record<string, OptionSpec> = {
  follow: { type: 'boolean', short: 'f', description: 'show live progress until the saga ends (exit 0 COMPLETED, 1 COMPENSATED/FAILED)' },
};
const sending: Record<string, OptionSpec> = {
  via: { type: 'string', value: 'kafka|http', description: 'send to Kafka site-saga.commands (default) or call the sites HTTP API' },
  'sites-url': { type: 'string', value: 'url', description: 'sites HTTP API for --via http (SITES_URL, default http://localhost:3001)' },
  'idempotency-key': { type: 'string', value: 'key', description: 'the same key sent again starts no second saga (the envelope id / Idempotency-Key)' },
};
const common: Record<string, OptionSpec> = {
  'no-color': { type: 'boolean', description: 'no colours (also NO_COLOR=1)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const COMMANDS = {
  'create-site': {
    summary: 'ask for a new site (CreateSite); prints the saga and site ids',
    positionals: [],
    options: {
      name: { type: 'string', value: 'name', description: 'DNS label: lowercase letters, digits, hyphens, 3-63 characters (required)' },
      domain: { type: 'string', value: 'domain', description: 'host name, e.g. blog.example.com (required)' },
      'admin-email': { type: 'string', value: 'email', description: "the site administrator's email (required)" },
      tagline: { type: 'string', value: 'text', description: 'the site tagline' },
      ...sending,
      ...follow,
      ...json,
      ...adminOptions,
      ...common,
    },
    examples: ['saga create-site --name my-blog --domain blog.example.com --admin-email me@example.com --follow', 'saga create-site --name shop --domain shop.example.com --admin-email me@example.com --via http'],
  },
  'delete-site': {
    summary: 'delete a site (DeleteSite): its storage, database and record',
    positionals: ['siteId'],
    options: { ...sending, ...follow, ...json, ...adminOptions, ...common },
    examples: ['saga delete-site 6f1c2d3e-0000-4000-8000-000000000001 --follow'],
  },
  list: {
    summary: 'list sagas, newest first',
    positionals: [],
    options: {
      status: { type: 'string', value: 'status', description: `only sagas in this status: ${SAGA_STATUSES.join(', ')}` },
      type: { type: 'string', value: 'type', description: 'only sagas of this type: CreateSite, DeleteSite' },
      'site-name': { type: 'string', value: 'name', description: 'only sagas of this site name' },
      limit: { type: 'string', value: 'n', description: 'how many (1-1000, default 20)' },
      cursor: { type: 'string', value: 'cursor', description: 'start after this point (printed under a full page)' },
      ...json,
      ...adminOptions,
      ...common,
    },
    examples: ['saga list --status FAILED', 'saga list --site-name my-blog --json'],
  },
  show: {
    summary: "a saga's steps and message history",
    positionals: ['sagaId'],
    options: { ...follow, ...json, ...adminOptions, ...common },
    examples: ['saga show 6f1c2d3e-0000-4000-8000-000000000001', 'saga show 6f1c2d3e-0000-4000-8000-000000000001 --follow'],
  },
  retry: {
    summary: 're-send what a running saga waits for, or resume a FAILED one',
    positionals: ['sagaId'],
    options: { ...follow, ...json, ...adminOptions, ...common },
    examples: ['saga retry 6f1c2d3e-0000-4000-8000-000000000001 --follow'],
  },
  abort: {
    summary: 'compensate a running saga',
    positionals: ['sagaId'],
    options: {
      reason: { type: 'string', value: 'text', description: 'why (kept with the saga; at most 500 characters)' },
      ...follow,
      ...json,
      ...adminOptions,
      ...common,
    },
    examples: ["saga abort 6f1c2d3e-0000-4000-8000-000000000001 --reason 'customer cancelled'"],
  },
  stats: {
    summary: 'counts by status and type, step and saga latencies',
    positionals: [],
    options: { ...json, ...adminOptions, ...common },
    examples: ['saga stats'],
  },
  tail: {
    summary: 'one line per saga change, live, until Ctrl-C',
    positionals: [],
    options: {
      status: { type: 'string', value: 'status', description: 'only changes into this status' },
      type: { type: 'string', value: 'type', description: 'only sagas of this type' },
      'site-name': { type: 'string', value: 'name', description: 'only sagas of this site name' },
      ...json,
      ...adminOptions,
      ...common,
    },
    examples: ['saga tail', 'saga tail --status FAILED --json'],
  },
  ...BULK_COMMANDS,
  rehearse: {
    summary: 'inject every fault the saga definition implies into a running system (FAULTS_ENABLED=1) and check each case converges',
    positionals: ['sagaType'],
    options: {
      concurrency: { type: 'string', value: 'n', description: 'cases in flight at once (1-32, default 4); a crash case waits for cases with rules on its service' },
      'case-timeout': { type: 'string', value: 'seconds', description: 'how long one case may take to end (5-3600, default 180)' },
      only: { type: 'string', value: 'text', description: 'only the cases whose name contains this text, e.g. "× crash" or ProvisionDatabase' },
      list: { type: 'boolean', description: 'print the cases and their expected outcome, run nothing' },
      'storage-root': { type: 'string', value: 'path', description: "the storage service's STORAGE_ROOT, when on this machine: site directories are checked (default .local/storage when it exists)" },
      ...json,
      ...adminOptions,
      ...common,
    },
    examples: ['saga rehearse CreateSite', 'saga rehearse DeleteSite --concurrency 2', 'saga rehearse CreateSite --only "× stall" --list'],
  },
  // Orphan audit and site view (issue #13): commands/inventory.commands.ts.
  orphans: {
    summary: 'audit: what no live site accounts for (directories, databases, roles, records), with the saga that made it',
    positionals: [],
    options: { ...json, ...adminOptions, ...common },
    examples: ['saga orphans', 'saga orphans --json'],
  },
  'repair-orphans': {
    summary: "undo orphans with the saga's own compensations; a dry run unless --execute",
    positionals: [],
    options: {
      execute: { type: 'boolean', description: 'send the commands (without it: print what would be sent, send nothing)' },
      kind: { type: 'string', value: 'kinds', description: `only these kinds, comma-separated: ${ORPHAN_KINDS.join(', ')}, incomplete-site` },
      site: { type: 'string', value: 'ids', description: 'only orphans of these site ids, comma-separated' },
      ...json,
      ...adminOptions,
      ...common,
    },
    examples: ['saga repair-orphans', 'saga repair-orphans --kind directory,database --execute'],
  },
  site: {
    summary: 'everything about a site: its sagas, each service\'s record, directory, database and role',
    positionals: ['key'],
    options: { ...json, ...adminOptions, ...common },
    examples: ['saga site my-blog', 'saga site blog.example.com', 'saga site 6f1c2d3e-0000-4000-8000-000000000001 --json'],
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];
export const isCommandName = (value: string): value is CommandName => Object.hasOwn(COMMANDS, value);

/** Options every command that talks to the admin API understands. */
export interface CommonOptions {
  readonly json: boolean;
  readonly noColor: boolean;
  readonly adminUrl?: string;
  readonly token?: string;
}

export interface SendOptions {
  readonly via: 'kafka' | 'http';
  readonly sitesUrl?: string;
  readonly idempotencyKey?: string;
  readonly follow: boolean;
}

export type Invocation =
  | { readonly command: 'help'; readonly topic?: CommandName }
  | { readonly command: 'version' }
  | ({ readonly command: 'create-site'; readonly name: string; readonly domain: string; readonly adminEmail: string; readonly tagline?: string } & SendOptions & CommonOptions)
  | ({ readonly command: 'delete-site'; readonly siteId: string } & SendOptions & CommonOptions)
  | ({
      readonly command: 'list';
      readonly status?: SagaStatus;
      readonly type?: string;
      readonly siteName?: string;
      readonly limit: number;
      readonly cursor?: string;
    } & CommonOptions)
  | ({ readonly command: 'show'; readonly sagaId: string; readonly follow: boolean } & CommonOptions)
  | ({ readonly command: 'retry'; readonly sagaId: string; readonly follow: boolean } & CommonOptions)
  | ({ readonly command: 'abort'; readonly sagaId: string; readonly reason?: string; readonly follow: boolean } & CommonOptions)
  | ({ readonly command: 'stats' } & CommonOptions)
  | ({ readonly command: 'tail'; readonly status?: SagaStatus; readonly type?: string; readonly siteName?: string } & CommonOptions)
  | BulkInvocation
  | ({
      readonly command: 'rehearse';
      readonly sagaType: string;
      readonly concurrency: number;
      readonly caseTimeoutSeconds: number;
      readonly only?: string;
      readonly list: boolean;
      readonly storageRoot?: string;
    } & CommonOptions)
  | ({ readonly command: 'orphans' } & CommonOptions)
  | ({ readonly command: 'repair-orphans'; readonly execute: boolean; readonly kinds?: string[]; readonly siteIds?: string[] } & CommonOptions)
  | ({ readonly command: 'site'; readonly key: string } & CommonOptions);

export type CommandInvocation = Exclude<Invocation, { command: 'help' } | { command: 'version' }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const seeHelp = (command?: string) => `see: saga ${command ? `${command} ` : ''}--help`;

/**
 * One command's options and positionals, read by commander from the command table. Its
 * help and exits are ours (the table makes the help text); its errors become a usage error
 * that names the command.
 */
function parseCommand(command: CommandName, args: readonly string[]): { values: Record<string, unknown>; positionals: string[] } {
  const spec: CommandSpec = COMMANDS[command];
  const program = new Command(command)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .helpOption(false)
    .showSuggestionAfterError(false)
    .allowExcessArguments(true)
    .argument('[arguments...]');
  const options = Object.entries(spec.options).map(([name, option]) => {
    const flags = `${option.short ? `-${option.short}, ` : ''}--${name}${option.type === 'string' ? ` <${option.value ?? 'value'}>` : ''}`;
    const described = new Option(flags, option.description);
    program.addOption(described);
    return [name, described] as const;
  });
  try {
    program.parse([...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const message = error.message.replace(/^error: /, '');
    throw new UsageError(`${command}: ${message}`, [seeHelp(command)]);
  }
  const given = program.opts<Record<string, unknown>>();
  // By the table's names; `--no-color` is commander's negation of `color`.
  const values = Object.fromEntries(options.map(([name, option]) => [name, option.negate ? given[option.attributeName()] === false : given[option.attributeName()]]));
  return { values, positionals: program.args };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function uuidArgument(command: CommandName, name: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`${command}: missing <${name}>`, [seeHelp(command)]);
  if (!UUID.test(value)) throw new UsageError(`${command}: <${name}> must be a uuid, got "${value}"`, [seeHelp(command)]);
  return value.toLowerCase();
}

export function statusOption(command: CommandName, value: string | undefined): SagaStatus | undefined {
  if (value === undefined) return undefined;
  const status = value.toUpperCase();
  if (!(SAGA_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`${command}: --status must be one of ${SAGA_STATUSES.join(', ')}, got "${value}"`);
  }
  return status as SagaStatus;
}

function sendOptions(command: CommandName, values: Record<string, unknown>): SendOptions {
  const via = text(values.via) ?? 'kafka';
  if (via !== 'kafka' && via !== 'http') throw new UsageError(`${command}: --via must be kafka or http, got "${via}"`);
  const sitesUrl = text(values['sites-url']);
  if (sitesUrl !== undefined && via !== 'http') throw new UsageError(`${command}: --sites-url goes with --via http`);
  const idempotencyKey = text(values['idempotency-key']);
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
    throw new UsageError(`${command}: --idempotency-key must be 1 to 200 visible ASCII characters`);
  }
  return { via, follow: values.follow === true, ...(sitesUrl !== undefined ? { sitesUrl } : {}), ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) };
}

function commonOptions(values: Record<string, unknown>): CommonOptions {
  const adminUrl = text(values['admin-url']);
  const token = text(values.token);
  return { json: values.json === true, noColor: values['no-color'] === true, ...(adminUrl !== undefined ? { adminUrl } : {}), ...(token !== undefined ? { token } : {}) };
}

/** argv (without node and the script) → what to do. Throws UsageError with a hint. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { command: 'help' };
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { command: 'help' };
    if (!isCommandName(topic)) throw new UsageError(`unknown command "${topic}"`, [seeHelp()]);
    return { command: 'help', topic };
  }
  if (first === '--version' || first === '-V' || first === 'version') return { command: 'version' };
  if (first.startsWith('-')) throw new UsageError(`expected a command before "${first}"`, [seeHelp()]);
  if (!isCommandName(first)) throw new UsageError(`unknown command "${first}"`, [`commands: ${COMMAND_NAMES.join(', ')}`, seeHelp()]);
  const command = first;

  const { values, positionals } = parseCommand(command, rest);
  if (values.help === true) return { command: 'help', topic: command };
  const expected = COMMANDS[command].positionals.length;
  if (positionals.length > expected) {
    throw new UsageError(`${command}: unexpected argument "${positionals[expected]}"`, [seeHelp(command)]);
  }
  const shared = commonOptions(values);
  const reject = (option: string, why: string) => {
    throw new UsageError(`${command}: ${option} ${why}`, [seeHelp(command)]);
  };

  switch (command) {
    case 'create-site': {
      const name = text(values.name);
      const domain = text(values.domain);
      const adminEmail = text(values['admin-email']);
      const missing = [name === undefined && '--name', domain === undefined && '--domain', adminEmail === undefined && '--admin-email'].filter(Boolean);
      if (missing.length > 0 || name === undefined || domain === undefined || adminEmail === undefined) {
        throw new UsageError(`create-site: missing ${missing.join(', ')}`, [seeHelp(command)]);
      }
      const tagline = text(values.tagline);
      return { command, name, domain, adminEmail, ...(tagline !== undefined ? { tagline } : {}), ...sendOptions(command, values), ...shared };
    }
    case 'delete-site':
      return { command, siteId: uuidArgument(command, 'siteId', positionals[0]), ...sendOptions(command, values), ...shared };
    case 'list': {
      const limitText = text(values.limit);
      const limit = limitText === undefined ? 20 : /^[0-9]{1,4}$/.test(limitText) ? Number(limitText) : NaN;
      if (!(limit >= 1 && limit <= 1000)) reject('--limit', `must be an integer from 1 to 1000, got "${limitText}"`);
      const status = statusOption(command, text(values.status));
      const type = text(values.type);
      const siteName = text(values['site-name']);
      const cursor = text(values.cursor);
      return {
        command,
        limit,
        ...(status ? { status } : {}),
        ...(type !== undefined ? { type } : {}),
        ...(siteName !== undefined ? { siteName } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
        ...shared,
      };
    }
    case 'show':
    case 'retry':
      return { command, sagaId: uuidArgument(command, 'sagaId', positionals[0]), follow: values.follow === true, ...shared };
    case 'abort': {
      const reason = text(values.reason);
      if (reason !== undefined && (reason.trim() === '' || reason.length > 500)) reject('--reason', 'must be 1 to 500 characters');
      return { command, sagaId: uuidArgument(command, 'sagaId', positionals[0]), follow: values.follow === true, ...(reason !== undefined ? { reason } : {}), ...shared };
    }
    case 'stats':
      return { command, ...shared };
    case 'bulk':
    case 'audit-log':
      return parseBulkCommand(command, values, positionals, shared);
    case 'rehearse': {
      const sagaType = positionals[0];
      if (sagaType === undefined) throw new UsageError('rehearse: missing <sagaType> (e.g. CreateSite)', [seeHelp(command)]);
      if (!/^[A-Za-z][A-Za-z0-9]{0,99}$/.test(sagaType)) reject('<sagaType>', `must be a saga type such as CreateSite, got "${sagaType}"`);
      const whole = (option: string, fallback: number, min: number, max: number): number => {
        const given = text(values[option]);
        const value = given === undefined ? fallback : /^[0-9]{1,5}$/.test(given) ? Number(given) : NaN;
        if (!(value >= min && value <= max)) reject(`--${option}`, `must be a whole number from ${min} to ${max}, got "${given}"`);
        return value;
      };
      const only = text(values.only);
      const storageRoot = text(values['storage-root']);
      return {
        command,
        sagaType,
        concurrency: whole('concurrency', 4, 1, 32),
        caseTimeoutSeconds: whole('case-timeout', 180, 5, 3600),
        list: values.list === true,
        ...(only !== undefined ? { only } : {}),
        ...(storageRoot !== undefined ? { storageRoot } : {}),
        ...shared,
      };
    }
    case 'tail': {
      const status = statusOption(command, text(values.status));
      const type = text(values.type);
      const siteName = text(values['site-name']);
      return { command, ...(status ? { status } : {}), ...(type !== undefined ? { type } : {}), ...(siteName !== undefined ? { siteName } : {}), ...shared };
    }
    case 'orphans':
      return { command, ...shared };
    case 'repair-orphans': {
      const list = (option: string) => text(values[option])?.split(',').map((part) => part.trim()).filter(Boolean);
      const kinds = list('kind');
      const known = [...ORPHAN_KINDS, 'incomplete-site'] as string[];
      const unknown = kinds?.find((kind) => !known.includes(kind));
      if (unknown !== undefined) reject('--kind', `must be among ${known.join(', ')}, got "${unknown}"`);
      const siteIds = list('site');
      const bad = siteIds?.find((id) => !UUID.test(id));
      if (bad !== undefined) reject('--site', `takes site ids (uuids), got "${bad}"`);
      return { command, execute: values.execute === true, ...(kinds ? { kinds } : {}), ...(siteIds ? { siteIds: siteIds.map((id) => id.toLowerCase()) } : {}), ...shared };
    }
    case 'site': {
      const key = positionals[0];
      if (key === undefined || key.trim() === '') throw new UsageError('site: missing <key> (a site name, domain or id)', [seeHelp(command)]);
      return { command, key: key.trim(), ...shared };
    }
  }
}
