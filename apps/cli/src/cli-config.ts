import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './cli-errors';

/** Where the admin token came from: named in messages, never the token itself. */
export type TokenSource = 'option --token' | 'ADMIN_TOKEN' | '.local/admin-token';

export interface AdminToken {
  readonly value: string;
  readonly source: TokenSource;
}

/** The CLI's settings, read once from the spec's variables and the command line. */
export interface CliConfig {
  readonly adminUrl: string;
  readonly adminToken: AdminToken | null;
  readonly sitesUrl: string;
  /** SITES_API_KEY: the client key for the sites API (`--via http`); absent, the admin token (an operator) is sent. */
  readonly sitesKey?: string;
  readonly kafkaBrokers: readonly string[];
  readonly topicPrefix: string;
  /** SASL and TLS to the broker (KAFKA_SASL_MECHANISM/USERNAME/PASSWORD, KAFKA_SSL=1): the operators' principal, `sitesaga-cli` in infra/kafka-acls.md. */
  readonly kafkaSecurity: KafkaSecurity;
}

export interface KafkaSecurity {
  readonly ssl?: true;
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** The same variables, and the same rules, as the services' client (libs/messaging kafkaSecurityFromEnv). */
export function kafkaSecurityFrom(env: NodeJS.ProcessEnv): KafkaSecurity {
  const ssl = env.KAFKA_SSL === '1' ? { ssl: true as const } : {};
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  if (!mechanism) return ssl;
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) throw new UsageError(`KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(', ')}, got "${mechanism.slice(0, 40)}"`);
  const username = env.KAFKA_SASL_USERNAME ?? '';
  const password = env.KAFKA_SASL_PASSWORD ?? '';
  if (!username || !password) throw new UsageError('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
  return { ...ssl, sasl: { mechanism: mechanism as (typeof SASL_MECHANISMS)[number], username, password } };
}

export interface ConfigOverrides {
  readonly adminUrl?: string;
  readonly token?: string;
  readonly sitesUrl?: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function httpUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what} is not a URL: "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${what} must be an http or https URL, got "${value}"`);
  return url.toString().replace(/\/+$/, '');
}

/** A URL fit for messages: no user or password. */
export function displayUrl(value: string): string {
  try {
    const url = new URL(value);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return value;
  }
}

/**
 * The token: `--token`, else ADMIN_TOKEN, else — only when the admin API is on this
 * machine — the `.local/admin-token` that `npm start` generates in the working directory
 * (never sent to a remote host).
 */
export function adminTokenFrom(env: NodeJS.ProcessEnv, overrides: ConfigOverrides, adminUrl: string, cwd: string): AdminToken | null {
  if (overrides.token !== undefined && overrides.token !== '') return { value: overrides.token, source: 'option --token' };
  const fromEnv = env.ADMIN_TOKEN?.trim();
  if (fromEnv) return { value: fromEnv, source: 'ADMIN_TOKEN' };
  if (!LOCAL_HOSTS.has(new URL(adminUrl).hostname)) return null;
  try {
    const value = fs.readFileSync(path.join(cwd, '.local', 'admin-token'), 'utf8').trim();
    return value ? { value, source: '.local/admin-token' } : null;
  } catch {
    return null;
  }
}

export function configFrom(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}, cwd = process.cwd()): CliConfig {
  const adminUrl = httpUrl(overrides.adminUrl ?? (env.ADMIN_URL?.trim() || 'http://localhost:3000'), overrides.adminUrl ? '--admin-url' : 'ADMIN_URL');
  const sitesUrl = httpUrl(overrides.sitesUrl ?? (env.SITES_URL?.trim() || 'http://localhost:3001'), overrides.sitesUrl ? '--sites-url' : 'SITES_URL');
  const kafkaBrokers = (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (kafkaBrokers.length === 0) throw new UsageError('KAFKA_BROKERS must name at least one broker');
  const topicPrefix = env.KAFKA_TOPIC_PREFIX ?? '';
  if (!/^[A-Za-z0-9._-]*$/.test(topicPrefix)) throw new UsageError(`KAFKA_TOPIC_PREFIX may hold only letters, digits, ".", "_" and "-", got "${topicPrefix}"`);
  const sitesKey = env.SITES_API_KEY?.trim();
  return { adminUrl, adminToken: adminTokenFrom(env, overrides, adminUrl, cwd), sitesUrl, ...(sitesKey ? { sitesKey } : {}), kafkaBrokers, topicPrefix, kafkaSecurity: kafkaSecurityFrom(env) };
}
