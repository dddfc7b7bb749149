/**
 * The deploy files checked against the code: the root Dockerfile, docker-compose.yml and
 * infra/k8s. Pure file reads (no broker, no database, no Docker): it sits in the e2e project
 * only because that project's pattern matches test/e2e.
 *
 * What each service needs is not listed here by hand: the environment variables are read
 * from the services' own sources at test time (every `env.NAME` in apps/<app>/src and in
 * the workspace libs it depends on), so a new variable in a service fails this test until
 * the deploy files provide it, or until it is added to OPTIONAL_ENV with its default.
 * Each service's zod environment schema (validated at its start) must name exactly what
 * the scan finds it reading.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DCLinter } from 'dclint';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';
import { SITE_SAGA_ENV, siteSagaConfigFromEnv } from '@sitesaga/site-saga/testing';
import { SITES_ENV } from '@sitesaga/sites/testing';
import { STORAGE_ENV } from '@sitesaga/storage/testing';
import { DATABASES_ENV } from '@sitesaga/databases/testing';
import { BOOTSTRAP_ENV } from '@sitesaga/bootstrap/testing';
import { ALL_TOPICS_WITH_DLQ } from '@sitesaga/contracts';
import { parseSecretsKey } from '@sitesaga/secrets';

const ROOT = path.join(__dirname, '..', '..');
const K8S = path.join(ROOT, 'infra', 'k8s');
const read = (...parts: string[]): string => fs.readFileSync(path.join(ROOT, ...parts), 'utf8');

/** The five services and their default ports: public contract (SPEC.md, Configuration). */
const SERVICES = { 'site-saga': 3000, sites: 3001, storage: 3002, databases: 3003, bootstrap: 3004 } as const;
type ServiceName = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/**
 * Variables a service reads that a deployment may leave unset: each has a default that
 * suits production, or is for tests only. Everything else a service reads must be set by
 * docker-compose.yml and by infra/k8s.
 */
const OPTIONAL_ENV: Readonly<Record<string, string>> = {
  KAFKA_TOPIC_PREFIX: 'empty: the spec topic names (set it to share a Kafka between environments)',
  KAFKA_GROUP_ID: 'default: the topic prefix and the service name',
  KAFKA_SASL_MECHANISM: 'unset: no SASL (a broker that wants it names the mechanism: scram-sha-256, scram-sha-512 or plain)',
  KAFKA_SASL_USERNAME: "unset: no SASL (the service's broker principal, see infra/kafka-acls.md)",
  KAFKA_SASL_PASSWORD: 'unset: no SASL',
  KAFKA_SSL: 'unset: plaintext to the broker (1: TLS)',
  KAFKA_PARTITIONS_CONCURRENCY: 'default 6 partitions handled at once per consumer',
  KAFKA_SESSION_TIMEOUT_MS: 'default 10 s',
  KAFKA_HEARTBEAT_INTERVAL_MS: 'default 3 s',
  HANDLER_ATTEMPTS: 'default 5 attempts in all on a transient error (the transport is the one retry layer)',
  HANDLER_BACKOFF_MS: 'default 100 ms',
  HANDLER_BACKOFF_MAX_MS: 'default 5 s',
  OUTBOX_POLL_MS: 'default 1 s',
  OUTBOX_BATCH_SIZE: 'default 500',
  OUTBOX_RETENTION_MS: 'default 1 h',
  HEALTH_CONSUMER_DOWN_LIMIT_MS: 'default 180 s: how long a crashed consumer may stay down, with the broker up, before /health/live fails',
  MESSAGING_BATCH_SIZE: "the service's own choice: 32 messages per unit of work in site-saga and sites, 1 in storage, databases and bootstrap",
  MESSAGING_HOP_TIMING_FILE: 'unset: no per-hop timing (a benchmark sets it to a file to see where a hop spends its time)',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'unset: no OpenTelemetry (set it to an OTLP/HTTP collector to export traces; no SDK is loaded without it)',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'unset: OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces',
  OTEL_SDK_DISABLED: 'unset: tracing follows OTEL_EXPORTER_OTLP_ENDPOINT (true turns it off)',
  OTEL_TRACES_EXPORTER: 'unset: otlp (none turns tracing off)',
  OTEL_SERVICE_NAME: "default: the service's name",
  OTEL_BSP_SCHEDULE_DELAY: 'default 5 s between span exports',
  HEALTH_RELAY_WEDGED_MS: 'default 10 min: how long one outbox relay round may take, with Kafka and the database up, before /health/live fails',
  DATABASE_POOL_SIZE: 'default 10 connections per replica',
  DATABASE_NAME_PREFIX: 'default sitesaga_ (the services\' own databases)',
  LOG_LEVEL: 'default info',
  FAULTS: 'fault injection for tests and demos; refused when NODE_ENV=production',
  FAULTS_ENABLED: 'off: fault injection and /faults exist only with FAULTS_ENABLED=1, never in a deployment (checked below)',
  ADMIN_MAX_FAILED_ATTEMPTS: 'default 10 failed sign-ins or bearer attempts per address in 15 minutes',
  INBOX_RETENTION_MS: 'default 7 days: older inbox rows are pruned',
  SAGA_HISTORY_RETENTION_MS: 'default 30 days: the history of sagas that ended before is pruned',
  RETENTION_BATCH_SIZE: 'default 1000 rows per pruning statement',
  RETENTION_INTERVAL_MS: 'default 60 s between pruning rounds',
  ADMIN_TOKENS: 'none: named operator tokens (name:token,...) besides ADMIN_TOKEN',
  SITES_QUOTA_SITES: 'default 100 sites held per client',
  SITES_QUOTA_CREATES_PER_MINUTE: 'default 10 site creations per client and minute',
  SAGA_TIME_SCALE: 'tests shrink saga timeouts with it; default 1',
  SAGA_TIMER_INTERVAL_MS: 'default 250 ms',
  BOOTSTRAP_BCRYPT_ROUNDS: 'default 10',
  SITE_DATABASE_PROVISIONER_PASSWORD: 'only when the site server wants a password for sitesaga_provisioner',
  SITE_CONNECTION_LIMIT: 'default 20 per site role',
  SITE_DDL_POOL_SIZE: 'default 2',
  SITE_DATABASE_POOL_SIZE: 'default 4 spare site databases kept ready (0: no warm pool)',
  SITE_DATABASE_POOL_REFILL_CONCURRENCY: 'default 1 spare built at a time, in the background',
  UV_THREADPOOL_SIZE: "Node's libuv thread pool, default 4; bootstrap runs at most one hash fewer at once",
};

/**
 * Files that read a variable whose name is computed, and what they read. A computed read
 * anywhere else fails the test: this test could not tell what it needs.
 */
const COMPUTED_ENV_READS: Readonly<Record<string, string>> = {
  'libs/messaging/src/config/database-url.ts': '<SERVICE>_DATABASE_URL: optional, overrides DATABASE_URL for one service',
};

/** Where a variable must hold one value in every deployment. */
const FIXED_VALUES: Readonly<Record<string, string>> = { NODE_ENV: 'production' };

// ---------------------------------------------------------------------------------------
// What the services read

interface EnvRead {
  readonly name: string;
  readonly where: string;
}

const isTestOnly = (file: string): boolean => /\.(spec|int-spec|e2e-spec)\.ts$/.test(file) || file.split(path.sep).includes('testing');

function sourceFiles(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs.readdirSync(directory, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')).map((file) => path.join(directory, file));
}

/** apps/<app> and every workspace lib it depends on, transitively (from the package.json files). */
function packageDirectories(app: string): string[] {
  const libs = new Map<string, string>();
  for (const lib of fs.readdirSync(path.join(ROOT, 'libs'))) {
    const manifest = path.join(ROOT, 'libs', lib, 'package.json');
    if (fs.existsSync(manifest)) libs.set((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name: string }).name, path.join(ROOT, 'libs', lib));
  }
  const seen = new Set<string>();
  const visit = (directory: string): void => {
    if (seen.has(directory)) return;
    seen.add(directory);
    const manifest = JSON.parse(fs.readFileSync(path.join(directory, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      const lib = libs.get(dependency);
      if (lib) visit(lib);
    }
  };
  visit(path.join(ROOT, 'apps', app));
  return [...seen];
}

const LITERAL_READ = /\benv(?:\?\.|\.)([A-Z][A-Z0-9_]*)\b|\benv\[\s*(['"])([A-Z][A-Z0-9_]*)\2\s*\]/g;
const COMPUTED_READ = /\benv\[(?!\s*['"][A-Z][A-Z0-9_]*['"]\s*\])/g;
const DESTRUCTURED_READ = /\{[^{}]*\}\s*=\s*process\.env\b/g;

interface ServiceEnv {
  readonly reads: EnvRead[];
  readonly problems: string[];
}

/** Every variable the service's runtime code reads, from its sources and its libs' sources. */
function envReadBy(app: ServiceName): ServiceEnv {
  const reads: EnvRead[] = [];
  const problems: string[] = [];
  for (const directory of packageDirectories(app)) {
    for (const file of sourceFiles(path.join(directory, 'src'))) {
      const relative = path.relative(ROOT, file).split(path.sep).join('/');
      if (isTestOnly(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
      for (const match of text.matchAll(LITERAL_READ)) {
        const name = match[1] ?? match[3];
        if (name) reads.push({ name, where: `${relative}:${lineOf(match.index)}` });
      }
      for (const match of [...text.matchAll(COMPUTED_READ), ...text.matchAll(DESTRUCTURED_READ)]) {
        if (!(relative in COMPUTED_ENV_READS)) {
          problems.push(`${relative}:${lineOf(match.index)} reads an environment variable this test cannot name ("${match[0]}"): read it as env.NAME, or add the file to COMPUTED_ENV_READS with what it reads`);
        }
      }
    }
  }
  return { reads, problems };
}

const serviceEnv = new Map(SERVICE_NAMES.map((app) => [app, envReadBy(app)] as const));

/** The variables a deployment of `app` must set. */
function requiredEnv(app: ServiceName): Map<string, string[]> {
  const required = new Map<string, string[]>();
  for (const { name, where } of serviceEnv.get(app)?.reads ?? []) {
    if (name in OPTIONAL_ENV) continue;
    required.set(name, [...(required.get(name) ?? []), where]);
  }
  return required;
}

const describeMissing = (app: string, missing: string[], where: string): string =>
  missing.length === 0
    ? ''
    : `${app} reads ${missing.map((name) => `${name} (${requiredEnv(app as ServiceName).get(name)?.[0] ?? '?'})`).join(', ')}, which ${where} does not set. ` +
      'Set it there, or, if a default suits every deployment, add it to OPTIONAL_ENV in test/e2e/deploy-manifests.e2e-spec.ts.';

// ---------------------------------------------------------------------------------------
// Small helpers over parsed YAML

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const objectAt = (value: unknown, ...keys: string[]): Json => {
  let current: unknown = value;
  for (const key of keys) current = isObject(current) ? current[key] : undefined;
  return isObject(current) ? current : {};
};
const arrayAt = (value: unknown, ...keys: string[]): unknown[] => {
  const last = keys.pop();
  const parent = objectAt(value, ...keys);
  const found = last === undefined ? value : parent[last];
  return Array.isArray(found) ? (found as unknown[]) : [];
};
const stringAt = (value: unknown, ...keys: string[]): string | undefined => {
  const last = keys.pop();
  const found = last === undefined ? value : objectAt(value, ...keys)[last];
  return typeof found === 'string' || typeof found === 'number' ? String(found) : undefined;
};
/** Whether `text` names `word` as a whole shell word. */
const namesWord = (text: string, word: string): boolean => new RegExp(`(^|[\\s"'])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([\\s"']|$)`, 'm').test(text);

// ---------------------------------------------------------------------------------------

describe('what the services read', () => {
  it('names every environment variable it reads, so this test can check the deploy files', () => {
    expect(SERVICE_NAMES.flatMap((app) => serviceEnv.get(app)?.problems ?? [])).toEqual([]);
  });

  it("lists in each service's environment schema exactly the variables it reads", () => {
    const schemas: Record<ServiceName, { shape: Record<string, unknown> }> = {
      'site-saga': SITE_SAGA_ENV,
      sites: SITES_ENV,
      storage: STORAGE_ENV,
      databases: DATABASES_ENV,
      bootstrap: BOOTSTRAP_ENV,
    };
    const mismatches = SERVICE_NAMES.flatMap((app) => {
      const listed = new Set(Object.keys(schemas[app].shape));
      const read = new Set((serviceEnv.get(app)?.reads ?? []).map(({ name }) => name));
      return [
        ...[...read].filter((name) => !listed.has(name)).map((name) => `${app} reads ${name}, which its environment schema does not list`),
        ...[...listed].filter((name) => !read.has(name)).map((name) => `${app}'s environment schema lists ${name}, which it does not read`),
      ];
    });
    expect(mismatches).toEqual([]);
  });

  it('still reads every variable listed as optional (no stale entry)', () => {
    const read = new Set(SERVICE_NAMES.flatMap((app) => (serviceEnv.get(app)?.reads ?? []).map(({ name }) => name)));
    const stale = Object.keys(OPTIONAL_ENV).filter((name) => !read.has(name));
    expect(stale.map((name) => `${name} is in OPTIONAL_ENV but no service reads it any more: remove it`)).toEqual([]);
  });

  it('reads the variables of the spec (sanity check of the source scan)', () => {
    expect([...requiredEnv('site-saga').keys()]).toEqual(expect.arrayContaining(['KAFKA_BROKERS', 'DATABASE_URL', 'PORT', 'ADMIN_TOKEN']));
    expect([...requiredEnv('storage').keys()]).toEqual(expect.arrayContaining(['STORAGE_ROOT']));
    expect([...requiredEnv('databases').keys()]).toEqual(expect.arrayContaining(['SITE_DATABASE_URL', 'SECRETS_KEY']));
    expect([...requiredEnv('bootstrap').keys()]).toEqual(expect.arrayContaining(['SITE_DATABASE_URL', 'SECRETS_KEY', 'STORAGE_ROOT']));
  });

  it('deploys every app that starts a service, and only those', () => {
    const started = fs
      .readdirSync(path.join(ROOT, 'apps'))
      .filter((app) => fs.existsSync(path.join(ROOT, 'apps', app, 'src', 'main.ts')) && /\brunService\(/.test(read('apps', app, 'src', 'main.ts')))
      .sort();
    expect(started).toEqual([...SERVICE_NAMES].sort());
    for (const app of SERVICE_NAMES) {
      expect(read('apps', app, 'src', 'main.ts')).toMatch(new RegExp(`defaultPort:\\s*${SERVICES[app]}\\b`));
    }
  });

  it('keeps test helpers (testing/ folders) out of the services\' runtime code', () => {
    const offenders = SERVICE_NAMES.flatMap((app) =>
      packageDirectories(app).flatMap((directory) =>
        sourceFiles(path.join(directory, 'src'))
          .filter((file) => !isTestOnly(file) && /from\s+['"][^'"]*\/testing\//.test(fs.readFileSync(file, 'utf8')))
          .map((file) => path.relative(ROOT, file)),
      ),
    );
    expect(offenders).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------

interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}
interface DockerStage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: DockerInstruction[];
}

/** Instructions (continuation lines joined, comments dropped), grouped by stage. */
function dockerStages(text: string): { globalArgs: DockerInstruction[]; stages: DockerStage[] } {
  const instructions: DockerInstruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const [keyword = '', ...rest] = pending.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: startLine });
    pending = '';
  });
  const globalArgs: DockerInstruction[] = [];
  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from = '', as, name] = instruction.args.split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(instruction);
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const { globalArgs, stages } = dockerStages(text);
  const stage = (name: string): DockerStage => {
    const found = stages.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`the Dockerfile has no stage "${name}"`);
    return found;
  };
  const argsOf = (found: DockerStage, keyword: string): string[] => found.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);
  /** A stage's instructions, its parents' (FROM <stage>) included. */
  const effective = (found: DockerStage, keyword: string): string[] => {
    const parent = stages.find((candidate) => candidate.name === found.from);
    return [...(parent ? effective(parent, keyword) : []), ...argsOf(found, keyword)];
  };

  it('passes the Dockerfile linter of dockerfile-utils', () => {
    const problems = lintDockerfile(text).map((problem) => `line ${problem.range.start.line + 1}: ${problem.message}`);
    expect(problems).toEqual([]);
  });

  it('builds on node:20-bookworm-slim with the pnpm of package.json, from the lockfile', () => {
    const packageManager = (JSON.parse(read('package.json')) as { packageManager: string }).packageManager;
    expect(packageManager).toMatch(/^pnpm@/);
    expect(globalArgs.map((instruction) => instruction.args)).toContain('NODE_IMAGE=node:20-bookworm-slim');
    expect(stage('base').from).toBe('${NODE_IMAGE}');
    expect(stage('runtime').from).toBe('${NODE_IMAGE}');
    const build = [...effective(stage('build'), 'RUN')].join('\n');
    expect(build).toContain(`corepack prepare ${packageManager}`);
    expect(build).toContain('pnpm install --frozen-lockfile');
    expect(build).toContain('pnpm --filter "@sitesaga/${APP}..." build');
    expect(build).toContain('pnpm deploy --filter "@sitesaga/${APP}" --prod /out');
  });

  it('can select every service with the APP build argument, each with its port', () => {
    const finalStage = stages[stages.length - 1];
    expect(finalStage?.from).toBe('app-${APP}');
    const accepted = /case "\$\{APP\}" in (\S+)\)/.exec(argsOf(stage('build'), 'RUN').join('\n'))?.[1]?.split('|');
    expect(accepted?.sort()).toEqual([...SERVICE_NAMES].sort());
    for (const app of SERVICE_NAMES) {
      const appStage = stage(`app-${app}`);
      expect({ app, from: appStage.from, expose: argsOf(appStage, 'EXPOSE'), env: argsOf(appStage, 'ENV') }).toEqual({
        app,
        from: 'runtime',
        expose: [String(SERVICES[app])],
        env: [`PORT=${SERVICES[app]}`],
      });
      const manifest = JSON.parse(read('apps', app, 'package.json')) as { name: string; scripts?: Record<string, string> };
      expect(manifest.name).toBe(`@sitesaga/${app}`);
      expect(manifest.scripts?.build).toBeDefined();
      expect(read('apps', app, 'tsconfig.build.json')).toMatch(/"outDir":\s*"dist"[\s\S]*"rootDir":\s*"src"|"rootDir":\s*"src"[\s\S]*"outDir":\s*"dist"/);
    }
  });

  it('runs the service as a non-root user, with a healthcheck on /health, node dist/main.js', () => {
    const runtime = stage('runtime');
    const users = argsOf(runtime, 'USER');
    expect(users).toHaveLength(1);
    expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
    const healthcheck = argsOf(runtime, 'HEALTHCHECK').join('\n');
    expect(healthcheck).toContain('/health');
    expect(healthcheck).toContain('process.env.PORT');
    expect(argsOf(runtime, 'CMD')).toEqual(['["node", "dist/main.js"]']);
    expect(argsOf(runtime, 'WORKDIR')).toEqual(['/app']);
    expect(argsOf(runtime, 'COPY').join('\n')).toContain('--from=build /out');
    expect(argsOf(runtime, 'ENV').join(' ')).toContain('NODE_ENV=production');
  });

  it('ships the files besides the compiled code that a service reads at run time (admin-page.html)', () => {
    // tsc copies no assets: they are read from src/, which pnpm deploy copies along with
    // dist/ as long as no package narrows its "files" and the Dockerfile keeps src/.
    const assets = SERVICE_NAMES.flatMap((app) =>
      packageDirectories(app).flatMap((directory) =>
        fs
          .readdirSync(path.join(directory, 'src'), { recursive: true, encoding: 'utf8' })
          .filter((file) => !/\.(ts|md)$/.test(file) && fs.statSync(path.join(directory, 'src', file)).isFile())
          .map((file) => ({ directory, file })),
      ),
    );
    expect(assets.map(({ file }) => path.basename(file))).toContain('admin-page.html');
    for (const { directory, file } of assets) {
      const manifest = JSON.parse(fs.readFileSync(path.join(directory, 'package.json'), 'utf8')) as { files?: string[] };
      expect({ asset: path.relative(ROOT, path.join(directory, 'src', file)), files: manifest.files }).toEqual({ asset: expect.any(String), files: undefined });
    }
    expect(effective(stage('build'), 'RUN').join('\n')).not.toMatch(/rm\s+-\S*\s+[^\n]*\/out\/src/);
  });

  it('finds the prebuilt bcrypt binaries it relies on (no compiler in the slim image)', () => {
    const bcrypt = path.dirname(require.resolve('bcrypt/package.json', { paths: [path.join(ROOT, 'apps', 'bootstrap')] }));
    for (const platform of ['linux-x64', 'linux-arm64']) {
      const files = fs.readdirSync(path.join(bcrypt, 'prebuilds', platform));
      expect({ platform, glibc: files.some((file) => file.endsWith('.node') && !file.includes('musl')) }).toEqual({ platform, glibc: true });
    }
  });

  it('leaves local and built files out of the build context, and keeps what the build needs', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.local', '.git']));
    const needed = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc', 'tsconfig.base.json', 'apps', 'libs', 'apps/*', 'libs/*', 'apps/*/src', 'libs/*/src'];
    expect(ignored.filter((pattern) => needed.includes(pattern.replace(/^\/|\/$/g, '')) || pattern === '*' || pattern === '**')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  const composePath = path.join(ROOT, 'docker-compose.yml');
  const compose = parse(fs.readFileSync(composePath, 'utf8'), { merge: true }) as unknown;
  const services = objectAt(compose, 'services');
  const environmentOf = (service: string): Record<string, string> => {
    const environment = objectAt(services, service).environment;
    if (Array.isArray(environment)) {
      return Object.fromEntries(environment.map((entry) => String(entry).split(/=(.*)/s).slice(0, 2) as [string, string]));
    }
    return Object.fromEntries(Object.entries(isObject(environment) ? environment : {}).map(([key, value]) => [key, String(value)]));
  };
  /** kafka:<port> of the INTERNAL listener the broker advertises to containers. */
  const internalBroker = (() => {
    const advertised = environmentOf('kafka').KAFKA_ADVERTISED_LISTENERS ?? '';
    const internal = advertised.split(',').find((listener) => listener.startsWith(`${environmentOf('kafka').KAFKA_INTER_BROKER_LISTENER_NAME ?? 'INTERNAL'}://`));
    return internal?.replace(/^[A-Z_]+:\/\//, '');
  })();

  it('passes the Compose schema (dclint)', () => {
    // We name the image of every built service on purpose (to tag and push it), which
    // this linter's opinion "no-build-and-image" disputes; its schema check is the point.
    const disputed = new Set(['no-build-and-image']);
    const linter = new DCLinter({ rules: {}, quiet: true, debug: false, exclude: [] });
    const [result] = linter.lintFiles([composePath], false);
    const errors = (result?.messages ?? []).filter((message) => message.type === 'error' && !disputed.has(message.rule)).map((message) => `line ${message.line}: ${message.rule}: ${message.message}`);
    expect(errors).toEqual([]);
  });

  it('keeps the infrastructure: Kafka (KRaft), Postgres and the one-shot topics service', () => {
    expect(stringAt(services, 'kafka', 'image')).toMatch(/^apache\/kafka:3\.9\./);
    expect(stringAt(services, 'postgres', 'image')).toMatch(/^postgres:17/);
    expect(internalBroker).toBe('kafka:29092');
    expect(objectAt(services, 'kafka', 'healthcheck').test).toBeDefined();
    expect(objectAt(services, 'postgres', 'healthcheck').test).toBeDefined();
  });

  it('creates every topic of topics.ts and its dead-letter topic, on the internal listener', () => {
    const topicsService = objectAt(services, 'kafka-topics');
    const script = [...arrayAt(topicsService, 'entrypoint'), ...arrayAt(topicsService, 'command')].map(String).join('\n');
    expect(ALL_TOPICS_WITH_DLQ.filter((topic) => !namesWord(script, topic))).toEqual([]);
    expect(script).toContain('--create --if-not-exists');
    expect(script).toContain(`--bootstrap-server ${internalBroker}`);
    expect(objectAt(topicsService, 'depends_on', 'kafka').condition).toBe('service_healthy');
  });

  describe.each(SERVICE_NAMES)('service %s', (app) => {
    const port = SERVICES[app];
    const service = objectAt(services, app);
    const environment = environmentOf(app);

    it('is built from the root Dockerfile with APP, and publishes its default port', () => {
      expect(objectAt(service, 'build').context).toBe('.');
      expect(objectAt(service, 'build').dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      expect(objectAt(service, 'build', 'args').APP).toBe(app);
      const published = arrayAt(service, 'ports').map(String);
      expect(published.some((mapping) => mapping.endsWith(`:${port}`) && mapping.split(':').at(-2) === String(port))).toBe(true);
      expect(environment.PORT).toBe(String(port));
    });

    it('sets every environment variable the service reads', () => {
      const missing = [...requiredEnv(app).keys()].filter((name) => !environment[name]?.trim());
      expect(describeMissing(app, missing, 'docker-compose.yml')).toBe('');
      for (const [name, value] of Object.entries(FIXED_VALUES)) expect({ name, value: environment[name] }).toEqual({ name, value });
    });

    it('reaches Kafka on its internal listener and Postgres by service name', () => {
      expect(environment.KAFKA_BROKERS).toBe(internalBroker);
      // Compose fills in ${POSTGRES_PASSWORD}: any value stands for it here.
      const urlOf = (value: string): URL => new URL(value.replace(/\$\{[^}]*\}/g, 'secret'));
      expect(urlOf(environment.DATABASE_URL ?? 'x:').hostname).toBe('postgres');
      if (environment.SITE_DATABASE_URL) expect(urlOf(environment.SITE_DATABASE_URL).hostname).toBe('postgres');
    });

    it('takes its secrets from the environment of compose, required, never written in the file', () => {
      for (const name of ['ADMIN_TOKEN', 'SECRETS_KEY'].filter((secret) => secret in environment)) {
        expect({ name, value: environment[name] }).toEqual({ name, value: expect.stringMatching(new RegExp(`^\\$\\{${name}:\\?.+\\}$`)) });
      }
    });

    it('checks /health on its port, restarts, and waits for Kafka, the topics and Postgres', () => {
      const test = arrayAt(service, 'healthcheck', 'test').map(String).join(' ');
      expect(test).toContain(`:${port}/health`);
      expect(stringAt(service, 'restart')).toMatch(/^(always|unless-stopped|on-failure)/);
      const dependsOn = objectAt(service, 'depends_on');
      expect({
        kafka: objectAt(dependsOn, 'kafka').condition,
        'kafka-topics': objectAt(dependsOn, 'kafka-topics').condition,
        postgres: objectAt(dependsOn, 'postgres').condition,
      }).toEqual({ kafka: 'service_healthy', 'kafka-topics': 'service_completed_successfully', postgres: 'service_healthy' });
    });
  });

  it('shares one named volume at STORAGE_ROOT between storage and bootstrap', () => {
    const mounts = (['storage', 'bootstrap'] as const).map((app) => {
      const root = environmentOf(app).STORAGE_ROOT;
      const volume = arrayAt(services, app, 'volumes')
        .map(String)
        .find((mount) => mount.split(':')[1] === root);
      return { app, root, source: volume?.split(':')[0] };
    });
    expect(mounts[0]?.source).toBeDefined();
    expect(mounts.map(({ root, source }) => ({ root, source }))).toEqual([mounts[0], mounts[0]].map((mount) => ({ root: mount?.root, source: mount?.source })));
    expect(Object.keys(objectAt(compose, 'volumes'))).toContain(mounts[0]?.source);
    expect(environmentOf('databases').SECRETS_KEY).toBe(environmentOf('bootstrap').SECRETS_KEY);
  });

  it('documents the secrets it requires in .env.example', () => {
    const example = read('.env.example');
    for (const name of ['ADMIN_TOKEN', 'SECRETS_KEY', 'POSTGRES_PASSWORD', 'PROVISIONER_PASSWORD', 'SITES_CLIENT_KEYS']) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
  });

  it('asks every Postgres login for its password (SCRAM), and gives the provisioner one', () => {
    const postgres = environmentOf('postgres');
    expect(postgres.POSTGRES_HOST_AUTH_METHOD).toBe('scram-sha-256');
    expect(postgres.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?.+\}$/);
    expect(read('docker-compose.yml')).not.toMatch(/\btrust\b/);
    expect(environmentOf('databases').SITE_DATABASE_PROVISIONER_PASSWORD).toMatch(/^\$\{PROVISIONER_PASSWORD:\?.+\}$/);
  });

  it('never switches fault injection on', () => {
    const set = SERVICE_NAMES.flatMap((app) => Object.keys(environmentOf(app)).filter((name) => name.startsWith('FAULTS')).map((name) => `${app}: ${name}`));
    expect(set).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------

interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; labels?: Record<string, string> };
  readonly file: string;
  readonly body: Json;
}

/** The API objects these manifests may hold, each with its schema-checked model. */
const MODELS: Readonly<Record<string, new (data: never) => { validate(): void }>> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

describe('infra/k8s', () => {
  const kustomization = parse(fs.readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as unknown;
  const resources = arrayAt(kustomization, 'resources').map(String);
  const objects: K8sObject[] = resources.flatMap((file) =>
    parseAllDocuments(fs.readFileSync(path.join(K8S, file), 'utf8'))
      .map((document) => {
        if (document.errors.length > 0) throw new Error(`infra/k8s/${file}: ${document.errors.map((error) => error.message).join('; ')}`);
        return document.toJS() as unknown;
      })
      .filter(isObject)
      .map((body) => ({
        apiVersion: String(body.apiVersion),
        kind: String(body.kind),
        metadata: objectAt(body, 'metadata') as K8sObject['metadata'],
        file,
        body,
      })),
  );
  const find = (kind: string, name: string): K8sObject => {
    const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
    if (!found) throw new Error(`infra/k8s has no ${kind} "${name}"`);
    return found;
  };
  const configMaps = new Map(objects.filter((object) => object.kind === 'ConfigMap').map((object) => [object.metadata.name, objectAt(object.body, 'data')]));
  const secrets = new Map(objects.filter((object) => object.kind === 'Secret').map((object) => [object.metadata.name, { ...objectAt(object.body, 'data'), ...objectAt(object.body, 'stringData') }]));
  const config = configMaps.get('sitesaga-config') ?? {};

  /** Every variable a container gets, with where it comes from. */
  function containerEnv(container: Json): Map<string, { value?: string; from: string }> {
    const env = new Map<string, { value?: string; from: string }>();
    for (const source of arrayAt(container, 'envFrom').filter(isObject)) {
      const configMap = stringAt(source, 'configMapRef', 'name');
      const secret = stringAt(source, 'secretRef', 'name');
      const data = configMap ? configMaps.get(configMap) : secret ? secrets.get(secret) : undefined;
      if (!data) throw new Error(`envFrom names a ConfigMap or Secret that infra/k8s does not define: ${JSON.stringify(source)}`);
      for (const [key, value] of Object.entries(data)) env.set(key, { value: String(value), from: configMap ? `ConfigMap ${configMap}` : `Secret ${secret}` });
    }
    for (const variable of arrayAt(container, 'env').filter(isObject)) {
      const name = String(variable.name);
      const secretRef = objectAt(variable, 'valueFrom', 'secretKeyRef');
      const configMapRef = objectAt(variable, 'valueFrom', 'configMapKeyRef');
      if (typeof variable.value === 'string') env.set(name, { value: variable.value, from: 'env' });
      else if (secretRef.name) {
        const value = secrets.get(String(secretRef.name))?.[String(secretRef.key)];
        if (value === undefined) throw new Error(`${name} refers to the key ${String(secretRef.key)} of Secret ${String(secretRef.name)}, which infra/k8s does not define`);
        env.set(name, { value: String(value), from: `Secret ${String(secretRef.name)}` });
      } else if (configMapRef.name) {
        const value = configMaps.get(String(configMapRef.name))?.[String(configMapRef.key)];
        if (value === undefined) throw new Error(`${name} refers to the key ${String(configMapRef.key)} of ConfigMap ${String(configMapRef.name)}, which infra/k8s does not define`);
        env.set(name, { value: String(value), from: `ConfigMap ${String(configMapRef.name)}` });
      }
    }
    return env;
  }

  it('lists every manifest of the folder in kustomization.yaml, and only existing ones', () => {
    const files = fs.readdirSync(K8S).filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml');
    expect([...resources].sort()).toEqual(files.sort());
    expect(stringAt(kustomization, 'namespace')).toBe(find('Namespace', 'sitesaga').metadata.name);
  });

  it('holds only objects that pass the Kubernetes API schemas (kubernetes-models)', () => {
    const problems = objects.flatMap((object) => {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      if (!Model) return [`${object.file}: ${object.apiVersion} ${object.kind} has no model in MODELS of this test: add it`];
      try {
        new Model(object.body as never).validate();
        return [];
      } catch (error) {
        return [`${object.file}: ${object.kind} ${object.metadata.name}: ${(error as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
  });

  const kubectl = (() => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  })();
  // kubectl is not a dependency of the project: where it is installed, kustomize itself renders the folder.
  (kubectl ? it : it.skip)('renders with kubectl kustomize, everything in the sitesaga namespace', () => {
    const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', K8S], { encoding: 'utf8', timeout: 30_000 })).map((document) => document.toJS() as unknown);
    expect(rendered).toHaveLength(objects.length);
    const namespaced = rendered.filter((object) => stringAt(object, 'kind') !== 'Namespace');
    expect(namespaced.filter((object) => stringAt(object, 'metadata', 'namespace') !== 'sitesaga').map((object) => `${stringAt(object, 'kind')} ${stringAt(object, 'metadata', 'name')}`)).toEqual([]);
  });

  it('keeps placeholders in the Secret template that the services refuse to start with', () => {
    const template = secrets.get('sitesaga-secrets') ?? {};
    expect(Object.keys(template).sort()).toEqual(['ADMIN_TOKEN', 'DATABASE_URL', 'SECRETS_KEY', 'SITES_CLIENT_KEYS', 'SITE_DATABASE_URL']);
    expect(() => siteSagaConfigFromEnv({ ADMIN_TOKEN: String(template.ADMIN_TOKEN) })).toThrow(/ADMIN_TOKEN/);
    expect(() => parseSecretsKey(String(template.SECRETS_KEY))).toThrow(/SECRETS_KEY/);
    expect(configMaps.get('sitesaga-config')).not.toHaveProperty('ADMIN_TOKEN');
    expect(Object.keys(config).filter((key) => /PASSWORD|SECRET|TOKEN|DATABASE_URL/.test(key))).toEqual([]);
    expect(Object.keys(config).filter((key) => key.startsWith('FAULTS'))).toEqual([]);
  });

  describe.each(SERVICE_NAMES)('service %s', (app) => {
    const port = SERVICES[app];
    const deployment = find('Deployment', app);
    const podSpec = objectAt(deployment.body, 'spec', 'template', 'spec');
    const containers = arrayAt(podSpec, 'containers').filter(isObject);
    const container = containers[0] ?? {};
    const podLabels = objectAt(deployment.body, 'spec', 'template', 'metadata', 'labels');
    const selects = (selector: Json): boolean => Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => podLabels[key] === value);

    it('runs at least 2 replicas of its image, the pods selected by the Deployment', () => {
      expect(Number(objectAt(deployment.body, 'spec').replicas)).toBeGreaterThanOrEqual(2);
      expect(containers).toHaveLength(1);
      expect(stringAt(container, 'image')?.replace(/:[^/:]+$/, '')).toBe(`sitesaga/${app}`);
      expect(selects(objectAt(deployment.body, 'spec', 'selector', 'matchLabels'))).toBe(true);
    });

    it('listens on its default port, probes readiness on /health and liveness on /health/live', () => {
      // A broker or database outage makes a pod not-ready (no traffic), never not-live:
      // restarting every pod during an outage would only add a thundering herd to it.
      const ports = arrayAt(container, 'ports').filter(isObject);
      expect(ports.map((entry) => ({ name: entry.name, containerPort: entry.containerPort }))).toEqual([{ name: 'http', containerPort: port }]);
      for (const [probe, path] of [['readinessProbe', '/health'], ['livenessProbe', '/health/live']] as const) {
        const httpGet = objectAt(container, probe, 'httpGet');
        expect({ probe, path: httpGet.path, port: httpGet.port === 'http' ? port : httpGet.port }).toEqual({ probe, path, port });
      }
    });

    it('gets every environment variable the service reads', () => {
      const env = containerEnv(container);
      const missing = [...requiredEnv(app).keys()].filter((name) => !env.has(name));
      expect(describeMissing(app, missing, `infra/k8s (${deployment.file})`)).toBe('');
      expect(env.get('PORT')?.value).toBe(String(port));
      for (const [name, value] of Object.entries(FIXED_VALUES)) expect({ name, value: env.get(name)?.value }).toEqual({ name, value });
      // Secrets come from the Secret, one key at a time, and only to the services that read them.
      for (const secret of ['ADMIN_TOKEN', 'SECRETS_KEY', 'DATABASE_URL', 'SITE_DATABASE_URL', 'SITES_CLIENT_KEYS']) {
        if (requiredEnv(app).has(secret)) expect({ secret, from: env.get(secret)?.from }).toEqual({ secret, from: 'Secret sitesaga-secrets' });
        else expect({ secret, given: env.has(secret) }).toEqual({ secret, given: false });
      }
    });

    it('has resource requests and limits, and runs unprivileged on a read-only root', () => {
      for (const kind of ['requests', 'limits']) {
        expect({ kind, ...objectAt(container, 'resources', kind) }).toEqual({ kind, cpu: expect.anything(), memory: expect.anything() });
      }
      const pod = objectAt(podSpec, 'securityContext');
      expect(pod.runAsNonRoot).toBe(true);
      expect(Number(pod.runAsUser)).toBeGreaterThan(0);
      const own = objectAt(container, 'securityContext');
      expect({ readOnlyRootFilesystem: own.readOnlyRootFilesystem, allowPrivilegeEscalation: own.allowPrivilegeEscalation, drop: objectAt(own, 'capabilities').drop }).toEqual({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        drop: ['ALL'],
      });
      const tmp = arrayAt(container, 'volumeMounts').filter(isObject).find((mount) => mount.mountPath === '/tmp');
      const tmpVolume = arrayAt(podSpec, 'volumes').filter(isObject).find((volume) => volume.name === tmp?.name);
      expect(tmpVolume?.emptyDir).toBeDefined();
    });

    it('gives a graceful shutdown time to stop consuming, finish, commit and flush the outbox', () => {
      expect(Number(podSpec.terminationGracePeriodSeconds)).toBeGreaterThanOrEqual(30);
    });

    it('has a Service on its port and a PodDisruptionBudget, both selecting its pods', () => {
      const service = find('Service', app);
      expect(selects(objectAt(service.body, 'spec', 'selector'))).toBe(true);
      const servicePorts = arrayAt(service.body, 'spec', 'ports').filter(isObject);
      expect(servicePorts.map((entry) => ({ port: entry.port, targetPort: entry.targetPort === 'http' ? port : entry.targetPort }))).toEqual([{ port, targetPort: port }]);
      const budget = find('PodDisruptionBudget', app);
      expect(selects(objectAt(budget.body, 'spec', 'selector', 'matchLabels'))).toBe(true);
      const { minAvailable, maxUnavailable } = objectAt(budget.body, 'spec');
      if (minAvailable !== undefined) expect(Number(minAvailable)).toBeLessThan(Number(objectAt(deployment.body, 'spec').replicas));
      else expect(Number(maxUnavailable)).toBeGreaterThanOrEqual(1);
    });
  });

  it('mounts one ReadWriteMany volume at STORAGE_ROOT in storage and bootstrap', () => {
    const claim = find('PersistentVolumeClaim', 'site-storage');
    expect(arrayAt(claim.body, 'spec', 'accessModes')).toEqual(['ReadWriteMany']);
    for (const app of ['storage', 'bootstrap'] as const) {
      const deployment = find('Deployment', app);
      const podSpec = objectAt(deployment.body, 'spec', 'template', 'spec');
      const container = arrayAt(podSpec, 'containers').filter(isObject)[0] ?? {};
      const root = containerEnv(container).get('STORAGE_ROOT')?.value;
      const mount = arrayAt(container, 'volumeMounts').filter(isObject).find((entry) => entry.mountPath === root);
      const volume = arrayAt(podSpec, 'volumes').filter(isObject).find((entry) => entry.name === mount?.name);
      expect({ app, claim: objectAt(volume, 'persistentVolumeClaim').claimName }).toEqual({ app, claim: 'site-storage' });
    }
  });

  it('creates every topic of topics.ts and its dead-letter topic, with configurable partitions and replication', () => {
    const job = find('Job', 'kafka-topics');
    const container = arrayAt(job.body, 'spec', 'template', 'spec', 'containers').filter(isObject)[0] ?? {};
    expect(stringAt(container, 'image')).toMatch(/^apache\/kafka:/);
    const script = [...arrayAt(container, 'command'), ...arrayAt(container, 'args')].map(String).join('\n');
    expect(ALL_TOPICS_WITH_DLQ.filter((topic) => !namesWord(script, topic))).toEqual([]);
    expect(script).toContain('kafka-topics.sh --bootstrap-server "${KAFKA_BROKERS}" --create --if-not-exists');
    expect(script).toContain('--partitions "${KAFKA_PARTITIONS}"');
    expect(script).toContain('--replication-factor "${KAFKA_REPLICATION_FACTOR}"');
    const env = containerEnv(container);
    expect({ partitions: env.get('KAFKA_PARTITIONS')?.value, replication: env.get('KAFKA_REPLICATION_FACTOR')?.value, brokers: env.has('KAFKA_BROKERS') }).toEqual({
      partitions: '6',
      replication: expect.stringMatching(/^[1-9]\d*$/),
      brokers: true,
    });
  });
});
