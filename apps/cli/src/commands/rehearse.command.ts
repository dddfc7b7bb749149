import * as fs from 'node:fs';
import * as path from 'node:path';
import { Topics } from '@sitesaga/contracts';
import type { SagaDefinitionView } from '@sitesaga/http-contracts';
import type { Invocation } from '../arguments/command-line';
import { ConnectionError, ExitCode, UsageError } from '../cli-errors';
import { displayUrl } from '../cli-config';
import { describeExpectation, rehearsalPlan } from '../rehearsal/rehearsal-cases';
import { rehearsalReport, resultJson } from '../rehearsal/rehearsal-report';
import { type FaultControl, type FaultRuleSpec, runRehearsal } from '../rehearsal/rehearsal-runner';
import { SiteEffectProbe, type SiteResourceReader } from '../rehearsal/site-effects';
import { siteSubjects } from '../rehearsal/site-subjects';
import { sendCommand } from '../sending/kafka-command-sender';
import { writeLines } from '../terminal/output';
import { adminClientOf, type CliContext, configOf } from './command-context';

type RehearseInvocation = Extract<Invocation, { command: 'rehearse' }>;

/** `npm start`'s port of each participant: `<SERVICE>_URL` (e.g. STORAGE_URL) points elsewhere. */
const LOCAL_PORTS: Readonly<Record<string, number>> = { sites: 3001, storage: 3002, databases: 3003, bootstrap: 3004 };

export function participantUrl(service: string, env: NodeJS.ProcessEnv): string {
  const variable = `${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
  const given = env[variable]?.trim();
  if (given) return given.replace(/\/+$/, '');
  const port = LOCAL_PORTS[service];
  if (port === undefined) throw new UsageError(`no URL for the ${service} service: set ${variable}`);
  return `http://localhost:${port}`;
}

/** `PUT|GET /faults` on each participant with the operator token. */
export class HttpFaultControl implements FaultControl {
  constructor(
    private readonly urlOf: (service: string) => string,
    private readonly token: string | null,
    private readonly interrupt: AbortSignal,
  ) {}

  async put(service: string, rules: readonly FaultRuleSpec[]): Promise<void> {
    const response = await this.fetch(service, 'PUT', { rules });
    if (!response.ok) throw this.refused(service, response.status, await response.text().catch(() => ''));
  }

  async get(service: string): Promise<readonly (FaultRuleSpec & { fired: number })[] | null> {
    const response = await this.fetch(service, 'GET').catch(() => null);
    if (!response?.ok) return null;
    const body = (await response.json()) as { rules?: (FaultRuleSpec & { fired: number })[] };
    return body.rules ?? [];
  }

  private fetch(service: string, method: string, body?: unknown): Promise<Response> {
    return fetch(`${this.urlOf(service)}/faults`, {
      method,
      headers: { accept: 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.any([this.interrupt, AbortSignal.timeout(10_000)]),
    });
  }

  private refused(service: string, status: number, text: string): Error {
    const url = displayUrl(this.urlOf(service));
    if (status === 404) return new ConnectionError(`${url}/faults: 404; start ${service} with FAULTS_ENABLED=1 (never in production)`);
    if (status === 401) return new ConnectionError(`${url}/faults refused the admin token (401)`);
    return new ConnectionError(`${url}/faults answered ${status}: ${text.slice(0, 200)}`);
  }
}

/** What the CLI can see of a site from where it runs: its record (the sites API, as an operator) and, on this machine, its directory. */
export class CliSiteReader implements SiteResourceReader {
  constructor(
    private readonly sitesUrl: string,
    private readonly token: string | null,
    private readonly storageRoot: string | null,
    private readonly interrupt: AbortSignal,
  ) {}

  async read(siteId: string): Promise<Record<string, string | null>> {
    // The sites service may be restarting after a crash case: asked again for up to 30 s.
    let record: string | null = null;
    for (let tries = 0; tries < 60 && record === null && !this.interrupt.aborted; tries += 1) {
      const response = await fetch(`${this.sitesUrl}/sites/${encodeURIComponent(siteId)}`, {
        headers: { accept: 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        signal: AbortSignal.any([this.interrupt, AbortSignal.timeout(10_000)]),
      }).catch(() => null);
      if (response?.status === 404) record = 'absent';
      else if (response?.ok) record = ((await response.json()) as { status?: string }).status ?? null;
      else await sleep(500);
    }
    const directory = this.storageRoot ? (fs.existsSync(path.join(this.storageRoot, siteId.toLowerCase())) ? 'present' : 'absent') : null;
    // The site database server is not the CLI's to read: the saga's step ends stand for it.
    return { record, directory, database: null, role: null };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `saga rehearse <sagaType>`: every fault case of the saga's definition against the running system, as a table; exit 1 when any diverged. */
export async function rehearseCommand(invocation: RehearseInvocation, context: CliContext): Promise<number> {
  const config = configOf(invocation, context);
  const admin = adminClientOf(config, context);
  const { items } = await admin.definitions();
  const definition: SagaDefinitionView | undefined = items.find((item) => item.type === invocation.sagaType);
  if (!definition) throw new UsageError(`rehearse: no saga type "${invocation.sagaType}" on ${admin.url}; it runs ${items.map((item) => item.type).join(', ')}`);
  const plan = rehearsalPlan(definition);
  const cases = invocation.only ? plan.cases.filter((rehearsal) => rehearsal.id.includes(invocation.only!)) : plan.cases;
  if (invocation.list) {
    if (invocation.json) for (const rehearsal of cases) context.stdout.write(`${JSON.stringify(rehearsal)}\n`);
    else writeLines(context.stdout, [...cases.map((rehearsal) => `${rehearsal.id}\n    faults: ${rehearsal.faults.map((fault) => `${fault.service} ${fault.command}=${fault.mode}${fault.times ? `*${fault.times}` : ''}`).join(', ')}\n    expect: ${describeExpectation(rehearsal)}`), `${cases.length} cases`]);
    return ExitCode.ok;
  }
  if (cases.length === 0) throw new UsageError(`rehearse: no case of ${definition.type} matches --only "${invocation.only}"`);

  const token = config.adminToken?.value ?? null;
  const urlOf = (service: string) => (service === 'sites' && !context.env.SITES_URL?.trim() ? config.sitesUrl : participantUrl(service, context.env));
  const faults = new HttpFaultControl(urlOf, token, context.interrupt);
  // Every service the cases put rules on must have fault injection on: say so before anything runs.
  for (const service of new Set(cases.flatMap((rehearsal) => rehearsal.services))) {
    if ((await faults.get(service)) === null) {
      throw new ConnectionError(`cannot read ${displayUrl(urlOf(service))}/faults: is ${service} running with FAULTS_ENABLED=1? (set ${service.toUpperCase()}_URL when it is not on its npm start port)`);
    }
  }
  const storageRoot = invocation.storageRoot ?? (fs.existsSync(path.join(context.cwd, '.local', 'storage')) ? path.join(context.cwd, '.local', 'storage') : null);
  const now = () => Date.now();
  const subjects = siteSubjects(
    {
      send: async (envelope) => {
        await sendCommand({ brokers: config.kafkaBrokers, topicPrefix: config.topicPrefix }, Topics.siteSagaCommands, envelope);
      },
      detail: (sagaId) => admin.detailIfExists(sagaId),
    },
    { setupTimeoutMs: invocation.caseTimeoutSeconds * 1000, sleep, now },
  );
  const progress = invocation.json ? context.stderr : context.stdout;
  progress.write(`rehearsing ${definition.type}: ${cases.length} cases, ${invocation.concurrency} at a time${storageRoot ? '' : ' (no --storage-root: directories not checked)'}\n`);
  const results = await runRehearsal(
    [definition],
    cases,
    {
      ...subjects,
      detail: (sagaId) => admin.detailIfExists(sagaId),
      faults,
      effects: new SiteEffectProbe(new CliSiteReader(config.sitesUrl, token, storageRoot ? path.resolve(context.cwd, storageRoot) : null, context.interrupt)),
      now,
      sleep,
    },
    { concurrency: invocation.concurrency, caseTimeoutMs: invocation.caseTimeoutSeconds * 1000, onProgress: (line) => progress.write(`  ${line}\n`) },
  );
  if (invocation.json) for (const result of results) context.stdout.write(`${JSON.stringify(resultJson(result))}\n`);
  else writeLines(context.stdout, ['', ...rehearsalReport({ ...plan, cases }, results)]);
  return results.every((result) => result.divergences.length === 0) ? ExitCode.ok : ExitCode.failed;
}
