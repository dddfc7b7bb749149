import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSite, SiteCreated, SiteCreationFailed, SiteCreationRejected } from '@sitesaga/contracts';
import { chromium } from 'playwright-core';
import { APPS, RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Per-hop timing and OpenTelemetry across the Kafka hops of a real create-site saga: all
 * five services as processes exporting OTLP/HTTP (JSON) to a receiver in this test.
 */
jest.setTimeout(180_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Record<string, unknown>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpAttribute = { key: string; value: OtlpValue };
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: OtlpAttribute[] }[] }[];
  }[];
}

const valueOf = (value: OtlpValue): unknown =>
  value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue));
const attributesOf = (attributes: OtlpAttribute[] = []): Record<string, unknown> =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, valueOf(value)]));

/** A minimal OTLP/HTTP trace receiver (http/json, what @opentelemetry/exporter-trace-otlp-http sends). */
const spans: ReceivedSpan[] = [];
const contentTypes = new Set<string>();
let receiver: Server;

async function startReceiver(): Promise<string> {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      contentTypes.add(`${request.method} ${request.url} ${request.headers['content-type'] ?? ''}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              attributes: attributesOf(span.attributes),
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  // A port of this test's range, the next one when it is taken.
  for (let port = 24_000 + Math.floor(Math.random() * 900); ; port++) {
    const bound = await new Promise<boolean>((resolve) => {
      receiver.once('error', () => resolve(false));
      receiver.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  }
}

const otel = (endpoint: string) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' });
let system: RunningSystem;

beforeAll(async () => {
  const endpoint = await startReceiver();
  system = new RunningSystem({
    label: 'hops',
    env: Object.fromEntries(APPS.map((app) => [app, { ...otel(endpoint), ...(app === 'site-saga' ? { SAGA_TIME_SCALE: '0.1' } : {}) }])),
  });
  await system.start();
}, 180_000);
afterAll(async () => {
  await system?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
}, 60_000);

interface Hops {
  outboxMs: number | null;
  brokerMs: number | null;
  handlerMs: number | null;
}
interface Detail {
  status: string;
  steps: { name: string; state: string; durationMs: number | null; waits: { kafkaMs: number; participantMs: number; orchestratorMs: number } | null }[];
  history: { direction: 'in' | 'out'; type: string; messageId: string | null; step: string | null; hops: Hops | null }[];
}

const createSite = async (headers?: Record<string, string>) => {
  const sagaId = randomUUID();
  const name = `hops-${sagaId.slice(0, 8)}`;
  await system.send(
    CreateSite.create(
      { name, domain: `${name}.example.com`, adminEmail: `owner@${name}.example.com` },
      { sagaId, correlationId: randomUUID(), causationId: null },
    ),
    headers,
  );
  const outcome = await system.waitForOutcome(sagaId, [SiteCreated, SiteCreationFailed, SiteCreationRejected]);
  expect(outcome.type).toBe('SiteCreated');
  return { sagaId, name };
};

it('records where every message of a saga spent its time, and the admin API, page and step totals agree', async () => {
  const { sagaId, name } = await createSite();
  const { status, body: detail } = await system.admin<Detail>(`/admin/sagas/${sagaId}`);
  expect(status).toBe(200);
  expect(detail.status).toBe('COMPLETED');

  // Every command the saga sent and every reply it received has its three legs.
  const messages = detail.history.filter((entry) => entry.step !== null && entry.messageId !== null);
  expect(messages.length).toBeGreaterThanOrEqual(10); // 5 commands and 5 replies
  for (const entry of messages) {
    expect({ type: entry.type, hops: entry.hops }).toEqual({
      type: entry.type,
      hops: { outboxMs: expect.any(Number), brokerMs: expect.any(Number), handlerMs: expect.any(Number) },
    });
    for (const leg of Object.values(entry.hops!)) expect(leg).toBeGreaterThanOrEqual(0);
  }

  // Each step's duration splits into Kafka, participant and orchestrator, adding up to it,
  // and its command's and reply's legs fit into it.
  for (const step of detail.steps) {
    expect(step.state).toBe('SUCCEEDED');
    expect(step.waits).not.toBeNull();
    const { kafkaMs, participantMs, orchestratorMs } = step.waits!;
    expect(kafkaMs + participantMs + orchestratorMs).toBe(step.durationMs);
    const command = detail.history.find((entry) => entry.direction === 'out' && entry.step === step.name)!.hops!;
    const reply = detail.history.find((entry) => entry.direction === 'in' && entry.step === step.name)!.hops!;
    expect(kafkaMs).toBe(command.brokerMs! + reply.brokerMs!);
    expect(participantMs).toBe(command.handlerMs! + reply.outboxMs!);
    const legs = command.outboxMs! + command.brokerMs! + command.handlerMs! + reply.outboxMs! + reply.brokerMs! + reply.handlerMs!;
    expect(legs).toBeLessThanOrEqual(step.durationMs!);
  }

  // The page shows them, in a real browser.
  const profile = mkdtempSync(join(tmpdir(), 'hops-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => void (message.type() === 'error' && problems.push(message.text())));
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${system.adminToken}` });
    await page.goto(`${system.service('site-saga').url}/admin#saga=${sagaId}`);
    await page.locator('#detail-title', { hasText: name }).waitFor({ timeout: 20_000 });
    const shown = await page.locator('#detail .step').evaluateAll((steps) =>
      steps.map((step) => {
        const waits = step.querySelector('.step-waits');
        return {
          step: step.getAttribute('data-step'),
          kafka: waits?.getAttribute('data-kafka-ms'),
          participant: waits?.getAttribute('data-participant-ms'),
          orchestrator: waits?.getAttribute('data-orchestrator-ms'),
          text: waits?.textContent,
        };
      }),
    );
    expect(shown).toEqual(
      detail.steps.map((step) => ({
        step: step.name,
        kafka: String(step.waits!.kafkaMs),
        participant: String(step.waits!.participantMs),
        orchestrator: String(step.waits!.orchestratorMs),
        text: expect.stringMatching(/^Kafka .+ · participant .+ · orchestrator .+$/),
      })),
    );
    const cells = await page.locator('#detail .history td.hops[data-broker-ms]').count();
    expect(cells).toBe(messages.length);
    expect(problems).toEqual([]);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

it('traces a saga as one trace across every service, with publish → handle parent links over Kafka', async () => {
  const { sagaId } = await createSite();
  const ofSaga = () => spans.filter((span) => span.attributes['saga.id'] === sagaId);
  // Every step span is exported by site-saga once the saga is done; the participants' spans
  // come within a batch delay, each service's on its own schedule: a child may be exported
  // before its parent, so the wait is also for every parent named to have arrived.
  await waitFor(
    () => {
      const services = new Set(ofSaga().map((span) => span.service));
      const ids = new Set(spans.map((span) => span.spanId));
      const traces = new Set(ofSaga().map((span) => span.traceId));
      return (
        ofSaga().filter((span) => span.name.startsWith('saga step ')).length >= 5 &&
        ['site-saga', 'sites', 'storage', 'databases', 'bootstrap'].every((app) => services.has(app)) &&
        spans.every((span) => !traces.has(span.traceId) || !span.parentSpanId || ids.has(span.parentSpanId))
      );
    },
    { within: '30s', what: 'spans of every service, with every parent they name' },
  );
  const traceIds = new Set(ofSaga().map((span) => span.traceId));
  expect(traceIds.size).toBe(1);
  const [traceId] = [...traceIds];
  const trace = spans.filter((span) => span.traceId === traceId);
  const byId = new Map(trace.map((span) => [span.spanId, span]));

  // One root: the orchestrator handling the client's CreateSite (it carried no traceparent).
  const roots = trace.filter((span) => span.parentSpanId === '');
  expect(roots.map((span) => `${span.service} ${span.name}`)).toEqual(['site-saga handle CreateSite']);
  // Every other span's parent is in the trace.
  for (const span of trace) if (span.parentSpanId) expect(byId.has(span.parentSpanId)).toBe(true);

  // A participant handles a command as a child of the orchestrator's publish of it, and the
  // orchestrator handles the reply as a child of the participant's publish.
  const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId);
  for (const [service, command, reply] of [
    ['sites', 'ReserveSite', 'SiteReserved'],
    ['storage', 'ProvisionStorage', 'StorageProvisioned'],
    ['databases', 'ProvisionDatabase', 'DatabaseProvisioned'],
    ['bootstrap', 'BootstrapSite', 'SiteBootstrapped'],
  ] as const) {
    const handled = trace.find((span) => span.service === service && span.name === `handle ${command}`);
    expect({ service, parent: handled && parentOf(handled)?.name, parentService: handled && parentOf(handled)?.service }).toEqual({
      service,
      parent: `publish ${command}`,
      parentService: 'site-saga',
    });
    const answered = trace.find((span) => span.service === 'site-saga' && span.name === `handle ${reply}`);
    expect({ reply, parent: answered && parentOf(answered)?.name, parentService: answered && parentOf(answered)?.service }).toEqual({
      reply,
      parent: `publish ${reply}`,
      parentService: service,
    });
    // The participant's publish of the reply is a child of its handling of the command.
    expect(parentOf(parentOf(answered!)!)?.spanId).toBe(handled!.spanId);
  }
  // Each saga step has its span, a child of the orchestrator's handling of the reply that ended it.
  const steps = trace.filter((span) => span.name.startsWith('saga step '));
  expect(steps.map((span) => span.attributes['saga.step']).sort()).toEqual([
    'ActivateSite',
    'BootstrapSite',
    'ProvisionDatabase',
    'ProvisionStorage',
    'ReserveSite',
  ]);
  for (const step of steps) expect(parentOf(step)?.name).toMatch(/^handle /);
  expect([...contentTypes].every((line) => line.startsWith('POST /v1/traces application/json'))).toBe(true);
});

it('ignores hostile hop and trace headers: the saga runs, the bad legs are unknown, nothing breaks', async () => {
  const before = spans.length;
  const { sagaId } = await createSite({
    'outbox-at': '9'.repeat(5_000),
    'cause-hops': '-5,-3,abc',
    traceparent: '00-zzzz-not-a-trace',
  });
  const { body: detail } = await system.admin<Detail>(`/admin/sagas/${sagaId}`);
  expect(detail.status).toBe('COMPLETED');
  // The client's command carried nothing usable; every hop the services measured is there.
  for (const step of detail.steps) expect(step.waits).not.toBeNull();
  // A junk traceparent starts a trace of its own.
  await waitFor(() => spans.slice(before).some((span) => span.attributes['saga.id'] === sagaId && span.name === 'handle CreateSite'), {
    within: '20s',
    what: 'the CreateSite span',
  });
  const root = spans.slice(before).find((span) => span.attributes['saga.id'] === sagaId && span.name === 'handle CreateSite')!;
  expect(root.parentSpanId).toBe('');
});
