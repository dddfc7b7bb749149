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
import { aclBindings, loadAclSpec, passwordVariable, renderedFiles, SCRIPT_FILE } from '../../scripts/kafka-security';
import { SERVICE_NODE_FLAGS, serviceNodeFlags } from '../../scripts/local/node-flags';
import { alertGroups, allPanels, dashboard, OBSERVABILITY, parsePromQL, shippedQueries } from '../support/observability-manifests';

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
  KAFKA_FETCH_MAX_WAIT_MS: 'default 2 s (or the heartbeat interval when shorter): how long an idle fetch waits at the broker',
  HANDLER_ATTEMPTS: 'default 5 attempts in all on a transient error (the transport is the one retry layer)',
  HANDLER_BACKOFF_MS: 'default 100 ms',
  HANDLER_BACKOFF_MAX_MS: 'default 5 s',
  OUTBOX_POLL_MS: 'default 5 s: the safety net under the hand-over at commit and NOTIFY',
  OUTBOX_BATCH_SIZE: 'default 500',
  OUTBOX_RETENTION_MS: 'default 1 h',
  HEALTH_CONSUMER_DOWN_LIMIT_MS: 'default 180 s: how long a crashed consumer may stay down, with the broker up, before /health/live fails',
  MESSAGING_BATCH_SIZE: "the service's own choice: 32 messages per unit of work in site-saga and sites, 1 in storage, databases and bootstrap",
  NODE_HEAP_GROWTH_PERCENT: 'default 20: how far the heap may grow past its live size before a full collection (0: V8 decides, up to 4×)',
  NODE_OPTIONS: "node's own: read only to let a --heap-growing-percent given there win over NODE_HEAP_GROWTH_PERCENT",
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
  ADMIN_RECORDS_RETENTION_MS: 'default 365 days: older audit log rows, orphan repairs and finished bulk operations are pruned',
  RETENTION_BATCH_SIZE: 'default 1000 rows per pruning statement',
  RETENTION_INTERVAL_MS: 'default 60 s between pruning rounds',
  ADMIN_TOKENS: 'none: named operator tokens (name:token,...) besides ADMIN_TOKEN',
  SITES_QUOTA_SITES: 'default 100 sites held per client',
  SITES_QUOTA_CREATES_PER_MINUTE: 'default 10 site creations per client and minute',
  SAGA_TIME_SCALE: 'tests shrink saga timeouts with it; default 1',
  SAGA_TIMER_INTERVAL_MS: 'default 250 ms',
  BOOTSTRAP_BCRYPT_ROUNDS: 'default 10',
  BOOTSTRAP_HASH_POOL_SIZE: 'default 4 admin password hashes made ahead (0: each made when needed)',
  SITE_DATABASE_PROVISIONER_PASSWORD: 'only when the site server wants a password for sitesaga_provisioner',
  SITE_CONNECTION_LIMIT: 'default 20 per site role',
  SITE_DDL_POOL_SIZE: 'default 2',
  SITE_DATABASE_POOL_SIZE: 'default 4 spare site databases kept ready (0: no warm pool)',
  SITE_DATABASE_POOL_REFILL_CONCURRENCY: 'default 1 spare built at a time, in the background',
  ORPHAN_AUDIT_INTERVAL_MS: 'default 5 min between refreshes of the orphans metric (0: never)',
  ORPHAN_AUDIT_PAGE_SIZE: 'default 200 items per inventory page',
  ORPHAN_AUDIT_MAX_ITEMS: 'default 10,000 items read per source per audit',
  ORPHAN_AUDIT_REPLY_TIMEOUT_MS: 'default 15 s for a participant to answer one inventory page',
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

/** infra/kafka/broker.properties, the compose broker's configuration. */
const brokerProperties = new Map(
  read('infra', 'kafka', 'broker.properties')
    .split('\n')
    .filter((line) => /^[a-z]/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]),
);

describe('Kafka users and ACLs (infra/kafka/acls.json, the one source)', () => {
  const spec = loadAclSpec();
  const byName = new Map(spec.principals.map((principal) => [principal.name, principal]));

  it('renders the script, its ConfigMap and the table of infra/kafka-acls.md exactly from it (pnpm kafka:security)', () => {
    const stale = renderedFiles(spec)
      .filter(({ file, text }) => !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text)
      .map(({ file }) => `${path.relative(ROOT, file)} is out of date: run pnpm kafka:security`);
    expect(stale).toEqual([]);
    // No second, hand-written list of ACLs in the document that could drift from the source.
    expect(read('infra', 'kafka-acls.md')).not.toMatch(/--allow-principal/);
    expect(fs.statSync(SCRIPT_FILE).mode & 0o111).not.toBe(0);
  });

  it('gives each service its own principal and consumer group, reading and writing only topics of topics.ts', () => {
    for (const app of SERVICE_NAMES) expect({ app, group: byName.get(app)?.group }).toEqual({ app, group: app });
    const topics = new Set<string>(ALL_TOPICS_WITH_DLQ);
    const unknown = spec.principals.flatMap((principal) => [...(principal.read ?? []), ...(principal.write ?? []), ...(principal.create ?? [])].filter((topic) => !topics.has(topic)).map((topic) => `${principal.name}: ${topic}`));
    expect(unknown).toEqual([]);
    // A consumer dead-letters what it cannot read onto <topic>.dlq: it must be able to write there.
    const noDlq = spec.principals.flatMap((principal) => (principal.read ?? []).filter((topic) => !(principal.write ?? []).includes(`${topic}.dlq`)).map((topic) => `${principal.name} reads ${topic} but may not write ${topic}.dlq`));
    expect(noDlq).toEqual([]);
    // Every command topic has exactly one reader; only site-saga reads the participants' events.
    const readers = (topic: string) => spec.principals.filter((principal) => principal.read?.includes(topic)).map((principal) => principal.name);
    for (const app of SERVICE_NAMES) expect({ topic: `${app}.commands`, readers: readers(`${app}.commands`) }).toEqual({ topic: `${app}.commands`, readers: [app] });
    expect([...(byName.get('sitesaga-topics')?.create ?? [])].sort()).toEqual([...ALL_TOPICS_WITH_DLQ].sort());
  });

  it("never lets a participant write another service's commands, nor anyone but sites and the CLI write site-saga.commands", () => {
    const writers = (topic: string) => spec.principals.filter((principal) => principal.write?.includes(topic)).map((principal) => principal.name).sort();
    expect(writers('site-saga.commands')).toEqual(['sites', 'sitesaga-cli']);
    for (const app of ['sites', 'storage', 'databases', 'bootstrap']) expect({ topic: `${app}.commands`, writers: writers(`${app}.commands`) }).toEqual({ topic: `${app}.commands`, writers: ['site-saga'] });
    const bindings = aclBindings(spec, 'p.');
    expect(bindings.every((binding) => binding.name.startsWith('p.'))).toBe(true);
    expect(bindings.filter((binding) => binding.principal === `User:${spec.admin}`)).toEqual([]);
  });

  it('refuses to run with a missing or placeholder password, before it talks to any broker', () => {
    const run = (env: Record<string, string>) => {
      try {
        execFileSync('bash', [SCRIPT_FILE, 'storage'], { env: { PATH: process.env.PATH ?? '', KAFKA_BIN: '/nonexistent', KAFKA_BOOTSTRAP: '127.0.0.1:1', ...env }, encoding: 'utf8', stdio: 'pipe' });
        return 'ran';
      } catch (error) {
        return String((error as { stderr?: string }).stderr).trim();
      }
    };
    const good = 'a1b2c3d4e5f6a7b8c9d0e1f2';
    expect(run({})).toMatch(/KAFKA_ADMIN_PASSWORD is not set/);
    expect(run({ KAFKA_ADMIN_PASSWORD: 'CHANGE_ME' })).toMatch(/KAFKA_ADMIN_PASSWORD must be at least 16 characters/);
    expect(run({ KAFKA_ADMIN_PASSWORD: 'change-me-change-me-0000' })).toMatch(/KAFKA_ADMIN_PASSWORD is a placeholder/);
    expect(run({ KAFKA_ADMIN_PASSWORD: good })).toMatch(/KAFKA_PASSWORD_STORAGE is not set/);
    expect(run({ KAFKA_ADMIN_PASSWORD: good, KAFKA_PASSWORD_STORAGE: 'x'.repeat(20) })).toMatch(/KAFKA_PASSWORD_STORAGE is one repeated character/);
    expect(run({ KAFKA_ADMIN_PASSWORD: good, KAFKA_PASSWORD_STORAGE: 'has,a=comma]0123456789' })).toMatch(/may hold only/);
    expect(run({ KAFKA_ADMIN_PASSWORD: good, KAFKA_PASSWORD_STORAGE: good })).not.toContain(good);
    expect(run({ KAFKA_ADMIN_PASSWORD: good, KAFKA_PASSWORD_STORAGE: good })).not.toBe('ran');
  });
});

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
  /** kafka:<port> of the INTERNAL listener the broker advertises to containers (infra/kafka/broker.properties). */
  const internalBroker = (() => {
    const advertised = brokerProperties.get('advertised.listeners') ?? '';
    const internal = advertised.split(',').find((listener) => listener.startsWith(`${brokerProperties.get('inter.broker.listener.name') ?? 'INTERNAL'}://`));
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
    expect(objectAt(topicsService, 'depends_on', 'kafka-security').condition).toBe('service_completed_successfully');
    // As its own principal, with its password from .env.
    expect(script).toContain('username="sitesaga-topics"');
    expect(script.match(/kafka-topics\.sh --bootstrap-server \S+ --command-config/g)?.length).toBe(2);
    expect(environmentOf('kafka-topics').KAFKA_PASSWORD_SITESAGA_TOPICS).toMatch(/^\$\{KAFKA_PASSWORD_SITESAGA_TOPICS:\?.+\}$/);
  });

  it('runs the broker of infra/kafka/broker.properties: SASL/SCRAM on every client listener, the authorizer, no plaintext but the loopback controller', () => {
    const kafka = objectAt(services, 'kafka');
    const mounts = arrayAt(kafka, 'volumes').map(String);
    expect(mounts).toEqual(expect.arrayContaining(['./infra/kafka/broker.properties:/sitesaga/broker.properties:ro', './infra/kafka/broker-start.sh:/sitesaga/broker-start.sh:ro']));
    expect(arrayAt(kafka, 'entrypoint').map(String)).toEqual(['/bin/bash', '/sitesaga/broker-start.sh']);
    expect(environmentOf('kafka').KAFKA_ADMIN_PASSWORD).toMatch(/^\$\{KAFKA_ADMIN_PASSWORD:\?.+\}$/);
    expect(Object.keys(environmentOf('kafka')).filter((name) => name.startsWith('KAFKA_') && name !== 'KAFKA_ADMIN_PASSWORD')).toEqual([]);
    expect({
      authorizer: brokerProperties.get('authorizer.class.name'),
      everyone: brokerProperties.get('allow.everyone.if.no.acl.found'),
      superUsers: brokerProperties.get('super.users'),
      mechanisms: brokerProperties.get('sasl.enabled.mechanisms'),
      interBroker: brokerProperties.get('sasl.mechanism.inter.broker.protocol'),
    }).toEqual({
      authorizer: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      everyone: 'false',
      superUsers: `User:${loadAclSpec().admin};User:ANONYMOUS`,
      mechanisms: 'SCRAM-SHA-256',
      interBroker: 'SCRAM-SHA-256',
    });
    const protocols = new Map((brokerProperties.get('listener.security.protocol.map') ?? '').split(',').map((entry) => entry.split(':') as [string, string]));
    const listeners = (brokerProperties.get('listeners') ?? '').split(',');
    for (const listener of listeners) {
      const [, name, host] = /^([A-Z_]+):\/\/([^:]*):\d+$/.exec(listener) ?? [];
      const protocol = protocols.get(name ?? '');
      // Plaintext (principal ANONYMOUS, a super user) only where nothing outside the container reaches.
      expect({ listener, safe: protocol?.startsWith('SASL_') || (protocol === 'PLAINTEXT' && host === '127.0.0.1') }).toEqual({ listener, safe: true });
    }
    const start = read('infra', 'kafka', 'broker-start.sh');
    expect(start).toContain('--add-scram "SCRAM-SHA-256=[name=admin,password=$password]"');
    // The password goes into the broker's files only (mode 600: umask 077), never to the output.
    expect(start).toContain('umask 077');
    expect(start).not.toMatch(/set -x/);
    const healthcheck = arrayAt(kafka, 'healthcheck', 'test').map(String).join(' ');
    expect(healthcheck).toContain('--command-config /tmp/sitesaga-admin.properties');
  });

  it('creates the users and ACLs of infra/kafka/acls.json with the generated script, every password required', () => {
    const security = objectAt(services, 'kafka-security');
    expect(stringAt(security, 'image')).toBe(stringAt(services, 'kafka', 'image'));
    expect(arrayAt(security, 'volumes').map(String)).toEqual(['./infra/kafka/kafka-security.sh:/sitesaga/kafka-security.sh:ro']);
    expect(arrayAt(security, 'entrypoint').map(String)).toEqual(['/bin/bash', '/sitesaga/kafka-security.sh']);
    expect(objectAt(security, 'depends_on', 'kafka').condition).toBe('service_healthy');
    const environment = environmentOf('kafka-security');
    expect(environment.KAFKA_BOOTSTRAP).toBe(internalBroker);
    for (const name of ['KAFKA_ADMIN_PASSWORD', ...loadAclSpec().principals.map((principal) => passwordVariable(principal.name))]) {
      expect({ name, value: environment[name] }).toEqual({ name, value: expect.stringMatching(new RegExp(`^\\$\\{${name}:\\?.+\\}$`)) });
      expect(read('.env.example')).toMatch(new RegExp(`^${name}=$`, 'm'));
    }
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

    it('logs in to Kafka as its own principal, with its own password', () => {
      expect({ mechanism: environment.KAFKA_SASL_MECHANISM, username: environment.KAFKA_SASL_USERNAME, password: environment.KAFKA_SASL_PASSWORD }).toEqual({
        mechanism: 'scram-sha-256',
        username: app,
        password: expect.stringMatching(new RegExp(`^\\$\\{${passwordVariable(app)}:\\?.+\\}$`)),
      });
      expect(loadAclSpec().principals.map((principal) => principal.name)).toContain(app);
    });

    it('checks /health on its port, restarts, and waits for Kafka, the topics and Postgres', () => {
      const test = arrayAt(service, 'healthcheck', 'test').map(String).join(' ');
      expect(test).toContain(`:${port}/health`);
      expect(stringAt(service, 'restart')).toMatch(/^(always|unless-stopped|on-failure)/);
      const dependsOn = objectAt(service, 'depends_on');
      expect({
        kafka: objectAt(dependsOn, 'kafka').condition,
        'kafka-topics': objectAt(dependsOn, 'kafka-topics').condition,
        'kafka-security': objectAt(dependsOn, 'kafka-security').condition,
        postgres: objectAt(dependsOn, 'postgres').condition,
      }).toEqual({ kafka: 'service_healthy', 'kafka-topics': 'service_completed_successfully', 'kafka-security': 'service_completed_successfully', postgres: 'service_healthy' });
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

    it('logs in to Kafka as its own principal, reading only its own password', () => {
      const env = containerEnv(container);
      expect({ mechanism: env.get('KAFKA_SASL_MECHANISM')?.value, username: env.get('KAFKA_SASL_USERNAME')?.value }).toEqual({ mechanism: 'scram-sha-256', username: app });
      const password = arrayAt(container, 'env').filter(isObject).find((variable) => variable.name === 'KAFKA_SASL_PASSWORD');
      expect(objectAt(password, 'valueFrom', 'secretKeyRef')).toEqual({ name: 'sitesaga-kafka-users', key: passwordVariable(app) });
      const kafkaKeys = arrayAt(container, 'env')
        .filter(isObject)
        .map((variable) => objectAt(variable, 'valueFrom', 'secretKeyRef'))
        .filter((ref) => ref.name === 'sitesaga-kafka-users')
        .map((ref) => ref.key);
      expect(kafkaKeys).toEqual([passwordVariable(app)]);
      expect(arrayAt(container, 'envFrom').filter(isObject).filter((source) => objectAt(source, 'secretRef').name !== undefined)).toEqual([]);
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

  it('runs the generated script of infra/kafka/acls.json as the Job kafka-security, with every password of its Secret', () => {
    const job = find('Job', 'kafka-security');
    const podSpec = objectAt(job.body, 'spec', 'template', 'spec');
    const container = arrayAt(podSpec, 'containers').filter(isObject)[0] ?? {};
    expect(arrayAt(container, 'command').map(String)).toEqual(['/bin/bash', '/sitesaga/kafka-security.sh']);
    const mount = arrayAt(container, 'volumeMounts').filter(isObject).find((entry) => entry.mountPath === '/sitesaga');
    const volume = arrayAt(podSpec, 'volumes').filter(isObject).find((entry) => entry.name === mount?.name);
    expect(objectAt(volume, 'configMap').name).toBe('kafka-security-script');
    // The ConfigMap holds the script byte for byte (YAML block scalars are easy to get subtly wrong).
    expect(configMaps.get('kafka-security-script')?.['kafka-security.sh']).toBe(fs.readFileSync(SCRIPT_FILE, 'utf8'));
    const env = containerEnv(container);
    expect(env.get('KAFKA_BOOTSTRAP')?.value).toBe(config.KAFKA_BROKERS);
    const passwords = ['KAFKA_ADMIN_PASSWORD', ...loadAclSpec().principals.map((principal) => passwordVariable(principal.name))];
    expect(passwords.filter((name) => env.get(name)?.from !== 'Secret sitesaga-kafka-users')).toEqual([]);
    expect(Object.keys(secrets.get('sitesaga-kafka-users') ?? {}).sort()).toEqual([...passwords].sort());
    expect(config.KAFKA_SASL_MECHANISM).toBe('scram-sha-256');
    const topics = find('Job', 'kafka-topics');
    const topicsContainer = arrayAt(topics.body, 'spec', 'template', 'spec', 'containers').filter(isObject)[0] ?? {};
    expect(containerEnv(topicsContainer).get('KAFKA_PASSWORD_SITESAGA_TOPICS')?.from).toBe('Secret sitesaga-kafka-users');
    expect(arrayAt(topicsContainer, 'args').map(String).join('\n')).toContain('username="sitesaga-topics"');
  });

  it('creates every topic of topics.ts and its dead-letter topic, with configurable partitions and replication', () => {
    const job = find('Job', 'kafka-topics');
    const container = arrayAt(job.body, 'spec', 'template', 'spec', 'containers').filter(isObject)[0] ?? {};
    expect(stringAt(container, 'image')).toMatch(/^apache\/kafka:/);
    const script = [...arrayAt(container, 'command'), ...arrayAt(container, 'args')].map(String).join('\n');
    expect(ALL_TOPICS_WITH_DLQ.filter((topic) => !namesWord(script, topic))).toEqual([]);
    expect(script).toContain('kafka-topics.sh --bootstrap-server "${KAFKA_BROKERS}" --command-config /tmp/client.properties --create --if-not-exists');
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

// ---------------------------------------------------------------------------------------

describe('dashboards and alerts (infra/observability)', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as unknown;
  const services = objectAt(compose, 'services');
  /** host path (relative to the repository) → container path, of a compose service's bind mounts. */
  const bindMounts = (service: string): Map<string, string> =>
    new Map(
      arrayAt(services, service, 'volumes')
        .map(String)
        .filter((mount) => mount.startsWith('./'))
        .map((mount) => mount.split(':') as [string, string])
        .map(([host, container]) => [path.normalize(host), container]),
    );
  const datasources = parse(read('infra', 'observability', 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as unknown;
  const datasource = arrayAt(datasources, 'datasources').filter(isObject)[0] ?? {};
  const board = dashboard();

  it('writes every rule and panel query in PromQL that parses, with only known functions', () => {
    const queries = shippedQueries();
    expect(queries.length).toBeGreaterThan(20);
    const broken = queries.flatMap(({ where, expr }) => parsePromQL(expr).errors.map((error) => `${where}: ${error}`));
    expect(broken).toEqual([]);
    // The check itself finds errors (an unclosed call, an unknown function, a stray operator).
    for (const bad of ['sum(rate(x[5m])', 'nosuchfunction(x)', 'x > > 1', 'max by (a (x)']) expect({ bad, errors: parsePromQL(bad).errors.length > 0 }).toEqual({ bad, errors: true });
  });

  it('alerts on stuck sagas, outbox age, consumer lag, DLQ growth, compensation failures and orphans, each with a severity and a summary', () => {
    const rules = alertGroups().flatMap((group) => group.rules);
    const names = rules.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
    const metricsOf = (alert: string) => parsePromQL(rules.find((rule) => rule.alert === alert)?.expr ?? '').metrics;
    expect({
      stuck: metricsOf('SagaStuck'),
      outbox: metricsOf('OutboxStuck'),
      lag: metricsOf('ConsumerLagHigh'),
      dlq: metricsOf('DeadLettersGrowing'),
      compensation: metricsOf('SagaCompensationFailed'),
      orphans: metricsOf('OrphanedResources'),
    }).toEqual({
      stuck: ['saga_oldest_idle_seconds'],
      outbox: ['outbox_oldest_unsent_age_seconds'],
      lag: ['kafka_consumer_lag'],
      dlq: ['dlq_messages_total'],
      compensation: ['saga_step_duration_seconds_count'],
      orphans: ['sitesaga_orphans'],
    });
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity, summary: typeof rule.annotations?.summary }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(warning|critical)$/), summary: 'string' });
      if (rule.for !== undefined) expect({ alert: rule.alert, for: rule.for }).toEqual({ alert: rule.alert, for: expect.stringMatching(/^\d+[smh]$/) });
    }
  });

  it('ships a dashboard Grafana can load: a uid, unique panel ids on a 24-column grid, every query on the provisioned Prometheus', () => {
    expect(board.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(board.title.length).toBeGreaterThan(0);
    expect(board.schemaVersion).toBeGreaterThanOrEqual(36);
    const panels = allPanels(board);
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    const problems: string[] = [];
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos;
      if (![x, y, w, h].every(Number.isInteger) || x < 0 || w < 1 || x + w > 24 || h < 1) problems.push(`panel ${panel.id} "${panel.title}": gridPos ${JSON.stringify(panel.gridPos)}`);
      if (!['row', 'timeseries', 'stat', 'gauge', 'table', 'bargauge'].includes(panel.type)) problems.push(`panel ${panel.id}: type ${panel.type}`);
      if (panel.type === 'row') continue;
      const targets = panel.targets ?? [];
      if (targets.length === 0) problems.push(`panel ${panel.id} "${panel.title}" has no query`);
      if (new Set(targets.map((target) => target.refId)).size !== targets.length) problems.push(`panel ${panel.id}: duplicate refId`);
      for (const source of [panel.datasource, ...targets.map((target) => target.datasource)]) {
        if (source?.type !== 'prometheus' || source.uid !== datasource.uid) problems.push(`panel ${panel.id} "${panel.title}": datasource ${JSON.stringify(source)} is not the provisioned ${String(datasource.uid)}`);
      }
    }
    expect(problems).toEqual([]);
    // Panels do not overlap.
    const cells = new Map<string, number>();
    for (const panel of panels.filter((each) => each.type !== 'row' || each.gridPos.h === 1)) {
      for (let row = panel.gridPos.y; row < panel.gridPos.y + panel.gridPos.h; row += 1)
        for (let column = panel.gridPos.x; column < panel.gridPos.x + panel.gridPos.w; column += 1) {
          const key = `${column},${row}`;
          expect({ cell: key, panel: cells.get(key) ?? panel.id }).toEqual({ cell: key, panel: panel.id });
          cells.set(key, panel.id);
        }
    }
  });

  it('runs Prometheus and Grafana in compose with the files of infra/observability, scraping every service', () => {
    const prometheusMounts = bindMounts('prometheus');
    const grafanaMounts = bindMounts('grafana');
    for (const [host] of [...prometheusMounts, ...grafanaMounts]) expect({ host, exists: fs.existsSync(path.join(ROOT, host)) }).toEqual({ host, exists: true });
    const prometheusConfigPath = prometheusMounts.get(path.normalize('./infra/observability/prometheus/prometheus.yml'));
    expect(arrayAt(services, 'prometheus', 'command').map(String)).toContain(`--config.file=${prometheusConfigPath}`);
    const prometheusConfig = parse(read('infra', 'observability', 'prometheus', 'prometheus.yml')) as unknown;
    expect(arrayAt(prometheusConfig, 'rule_files').map(String)).toEqual([prometheusMounts.get(path.normalize('./infra/observability/prometheus/alerts.yml'))]);
    const jobs = arrayAt(prometheusConfig, 'scrape_configs').filter(isObject);
    expect(jobs.map((job) => ({ job: job.job_name, path: job.metrics_path ?? '/metrics' }))).toEqual([{ job: 'sitesaga', path: '/metrics' }]);
    const targets = jobs.flatMap((job) => arrayAt(job, 'static_configs').filter(isObject).flatMap((config) => arrayAt(config, 'targets').map(String)));
    expect(targets.sort()).toEqual(SERVICE_NAMES.map((app) => `${app}:${SERVICES[app]}`).sort());
    // The rules' ServiceDown names this job.
    expect(alertGroups().flatMap((group) => group.rules).find((rule) => rule.alert === 'ServiceDown')?.expr).toContain('job="sitesaga"');

    // Grafana: the provisioning folders where Grafana reads them, the datasource at the compose Prometheus.
    expect([...grafanaMounts.values()]).toEqual(expect.arrayContaining(['/etc/grafana/provisioning/datasources', '/etc/grafana/provisioning/dashboards']));
    expect(String(datasource.url)).toBe(`http://prometheus:${String(arrayAt(services, 'prometheus', 'ports')[0]).split(':').at(-1)}`);
    const providers = parse(read('infra', 'observability', 'grafana', 'provisioning', 'dashboards', 'sitesaga.yml')) as unknown;
    const providerPath = stringAt(arrayAt(providers, 'providers')[0], 'options', 'path');
    expect(grafanaMounts.get(path.normalize('./infra/observability/grafana/dashboards'))).toBe(providerPath);
    expect(fs.existsSync(path.join(OBSERVABILITY, 'grafana', 'dashboards', `${path.basename(String(objectAt(services, 'grafana', 'environment').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH))}`))).toBe(true);
    expect(String(objectAt(services, 'grafana', 'environment').GF_SECURITY_ADMIN_PASSWORD)).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?.+\}$/);
    expect(read('.env.example')).toMatch(/^GRAFANA_ADMIN_PASSWORD=$/m);
    expect(String(objectAt(services, 'grafana', 'environment').GF_AUTH_ANONYMOUS_ENABLED)).toBe('false');
    for (const service of ['prometheus', 'grafana']) expect(arrayAt(services, service, 'ports').map(String).every((port) => port.startsWith('127.0.0.1:'))).toBe(true);
  });
});

describe('the node flags every service is launched with (scripts/local/node-flags.ts)', () => {
  const SERVICES = ['site-saga', 'sites', 'storage', 'databases', 'bootstrap'];

  it("are in the image's NODE_OPTIONS", () => {
    const options = /NODE_OPTIONS="([^"]*)"/.exec(read('Dockerfile'))?.[1] ?? '';
    for (const flag of SERVICE_NODE_FLAGS) expect(options.split(/\s+/)).toContain(flag);
  });

  it.each(SERVICES)("are in %s's start script", (app) => {
    const start = (JSON.parse(read('apps', app, 'package.json')) as { scripts: Record<string, string> }).scripts.start ?? '';
    for (const flag of SERVICE_NODE_FLAGS) expect(start.split(/\s+/)).toContain(flag);
  });

  it("give way to a flag NODE_OPTIONS sets, whatever its value or spelling: the operator's wins", () => {
    expect(serviceNodeFlags({})).toEqual([...SERVICE_NODE_FLAGS]);
    expect(serviceNodeFlags({ NODE_OPTIONS: '--enable-source-maps' })).toEqual(['--max-semi-space-size=8']);
    expect(serviceNodeFlags({ NODE_OPTIONS: '--max-semi-space-size=32' })).toEqual([]);
    expect(serviceNodeFlags({ NODE_OPTIONS: '--enable-source-maps  --max_semi_space_size=4' })).toEqual([]);
  });
});
