import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SiteCreated, SiteCreationFailed, SiteCreationRejected } from '@sitesaga/contracts';
import type { AuditPage, BulkDryRun, BulkItemPage, BulkOperation } from '@sitesaga/http-contracts';
import { RunningSystem } from '../support/system';
import { waitFor } from '../support/wait-for';

/**
 * Bulk operations against the five services: sagas stuck FAILED (a database refused, then
 * the storage undo never answered) are counted by a dry run, retried in bulk by a named
 * operator through the CLI at a bounded rate once the cause is gone, and end COMPENSATED;
 * the audit log names the operator; a second bulk skips what no longer applies and
 * survives a restart of the orchestrator. Build first (`pnpm build`): the CLI runs from dist.
 */
jest.setTimeout(300_000);

const CLI = path.resolve(__dirname, '..', '..', 'apps', 'cli', 'dist', 'main.js');
const ALICE = randomBytes(20).toString('hex');
// Timeouts and backoffs ×0.1: five unanswered undo attempts take seconds.
const system = new RunningSystem({ label: 'bulk', env: { 'site-saga': { SAGA_TIME_SCALE: '0.1', ADMIN_TOKENS: `alice:${ALICE}` } } });
const workingDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'saga-bulk-e2e-'));

beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build it first (pnpm build)`);
  await system.start();
}, 180_000);
afterAll(async () => {
  await system.stop();
  fs.rmSync(workingDirectory, { recursive: true, force: true });
}, 60_000);

const asAlice = { authorization: `Bearer ${ALICE}` };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function saga(args: string[], token = ALICE): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: workingDirectory,
      env: { PATH: process.env.PATH ?? '', ADMIN_URL: system.service('site-saga').url, ADMIN_TOKEN: token, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const statusOf = async (sagaId: string) => (await system.admin<{ status: string }>(`/admin/sagas/${sagaId}`)).body.status;
const items = async (bulkId: string) => (await system.admin<BulkItemPage>(`/admin/bulk-operations/${bulkId}/items?limit=200`)).body.items;

describe('bulk operations', () => {
  let stuck: string[] = [];

  it('counts the stuck sagas in a dry run, then retries them at the asked rate and records who did it', async () => {
    // Every database refused (business: compensate), every storage undo unanswered: the sagas stop FAILED.
    await system.setFaults('databases', [{ command: 'ProvisionDatabase', mode: 'fail' }]);
    await system.setFaults('storage', [{ command: 'DeprovisionStorage', mode: 'stall' }]);
    stuck = await system.createSites(4, 'bulk');
    await waitFor(async () => (await Promise.all(stuck.map(statusOf))).every((status) => status === 'FAILED'), { within: '120s', what: 'four sagas FAILED' });

    const filter = { status: 'FAILED', step: 'ProvisionDatabase' };
    const dry = await system.admin<BulkDryRun>('/admin/bulk-operations', { method: 'POST', body: JSON.stringify({ action: 'retry', filter, dryRun: true }) });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, matched: 4, actionable: 4, byStatus: { FAILED: 4 } });
    expect([...dry.body.sample].sort()).toEqual([...stuck].sort());

    // The CLI says the same, and without --yes (no terminal to ask on) it starts nothing.
    const cliDry = await saga(['bulk', 'retry', '--status', 'FAILED', '--step', 'ProvisionDatabase', '--dry-run']);
    expect(cliDry).toMatchObject({ code: 0 });
    expect(cliDry.stdout).toMatch(/4 sagas match/);
    const unconfirmed = await saga(['bulk', 'retry', '--status', 'FAILED', '--step', 'ProvisionDatabase']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    expect((await system.admin<{ items: unknown[] }>('/admin/bulk-operations')).body.items).toEqual([]);

    // The cause is fixed; alice retries them all, two per second, and watches it finish.
    await system.setFaults('storage', []);
    const started = await saga(['bulk', 'retry', '--status', 'FAILED', '--step', 'ProvisionDatabase', '--rate', '2', '--yes', '--json']);
    expect(started).toMatchObject({ code: 0 });
    const bulk = JSON.parse(started.stdout) as BulkOperation;
    expect(bulk).toMatchObject({ action: 'retry', status: 'completed', operator: 'alice', selected: 4, done: 4, skipped: 0, failed: 0, ratePerSecond: 2 });
    await waitFor(async () => (await Promise.all(stuck.map(statusOf))).every((status) => status === 'COMPENSATED'), {
      within: '90s',
      what: 'four sagas COMPENSATED',
    });
    for (const siteId of stuck) expect(system.outcome(siteId, [SiteCreated, SiteCreationRejected])).toBeUndefined();
    expect(stuck.every((siteId) => system.outcome(siteId, [SiteCreationFailed]))).toBe(true);

    // The rate: each saga's turn began at least half a second after the previous one's.
    const handled = await items(bulk.id);
    expect(handled.map((item) => item.outcome)).toEqual(['done', 'done', 'done', 'done']);
    const starts = handled.map((item) => Date.parse(item.at!));
    for (let index = 1; index < starts.length; index += 1) expect(starts[index]! - starts[index - 1]!).toBeGreaterThanOrEqual(500);

    // The audit log: alice, the filter, the counts, the saga ids.
    const log = (await system.admin<AuditPage>('/admin/audit-log?action=bulk-retry')).body.items;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      operator: 'alice',
      action: 'bulk-retry',
      outcome: 'started',
      bulkId: bulk.id,
      filter,
      bulk: { status: 'completed', done: 4 },
    });
    expect(handled.map((item) => item.sagaId).sort()).toEqual([...stuck].sort());
    const printed = await saga(['audit-log', '--action', 'bulk-retry']);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/alice\s+bulk-retry/);
    expect(printed.stdout).toMatch(/status=FAILED/);

    const metrics = await fetch(`${system.service('site-saga').url}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(/admin_bulk_operations_total\{action="retry",outcome="started"[^}]*\} 1\n/);
    expect(metrics).toMatch(/admin_bulk_operation_sagas_total\{action="retry",outcome="done"[^}]*\} 4\n/);
  });

  it('skips and counts sagas the action no longer applies to, and resumes after the orchestrator restarts', async () => {
    // Now COMPENSATED: a retry does not apply. One per second, so the restart lands mid-way.
    const filter = { type: 'CreateSite', step: 'ProvisionDatabase' };
    const dry = await system.admin<BulkDryRun>('/admin/bulk-operations', { method: 'POST', body: JSON.stringify({ action: 'retry', filter, dryRun: true }) });
    expect(dry.body).toMatchObject({ matched: 4, actionable: 0, byStatus: { COMPENSATED: 4 } });
    const started = await system.admin<BulkOperation>('/admin/bulk-operations', {
      method: 'POST',
      headers: asAlice,
      body: JSON.stringify({ action: 'retry', filter, ratePerSecond: 1 }),
    });
    expect(started).toMatchObject({ status: 202, body: { status: 'running', selected: 4 } });
    // The same action and filter cannot run twice at once.
    const twice = await system.admin('/admin/bulk-operations', { method: 'POST', body: JSON.stringify({ action: 'retry', filter, ratePerSecond: 1 }) });
    expect(twice.status).toBe(409);

    await waitFor(async () => (await items(started.body.id)).some((item) => item.outcome !== 'pending'), { within: '20s', what: 'the bulk under way' });
    await system.restart('site-saga');
    const finished = await waitFor(
      async () => {
        const now = (await system.admin<BulkOperation>(`/admin/bulk-operations/${started.body.id}`)).body;
        return now.status === 'completed' ? now : undefined;
      },
      { within: '60s', what: 'the bulk completed after the restart' },
    );
    expect(finished).toMatchObject({ selected: 4, done: 0, skipped: 4, failed: 0, pending: 0 });
    expect(finished.interruptions).toBeGreaterThanOrEqual(1);
    const handled = await items(started.body.id);
    expect(handled.map((item) => item.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(handled[0]?.detail).toMatch(/COMPENSATED/);
    for (const siteId of stuck) expect(await statusOf(siteId)).toBe('COMPENSATED');
  });

  it('refuses bad filters with field errors, and records single retries and aborts', async () => {
    const bad = await system.admin<{ errors: { field: string }[] }>('/admin/bulk-operations', {
      method: 'POST',
      body: JSON.stringify({ action: 'retry', filter: { status: 'NOPE', createdFrom: 'yesterday', colour: 'red' }, ratePerSecond: 0 }),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((error) => error.field).sort()).toEqual(['filter.colour', 'filter.createdFrom', 'filter.status', 'ratePerSecond']);
    const empty = await system.admin<{ errors: { field: string }[] }>('/admin/bulk-operations', {
      method: 'POST',
      body: JSON.stringify({ action: 'retry', filter: {} }),
    });
    expect(empty).toMatchObject({ status: 400, body: { errors: [{ field: 'filter' }] } });
    const noReason = await system.admin<{ errors: { field: string }[] }>('/admin/bulk-operations', {
      method: 'POST',
      body: JSON.stringify({ action: 'abort', filter: { status: 'RUNNING' } }),
    });
    expect(noReason).toMatchObject({ status: 400, body: { errors: [{ field: 'reason' }] } });
    expect((await system.admin('/admin/audit-log?limit=0&colour=red')).status).toBe(400);
    const cliBad = await saga(['bulk', 'abort', '--status', 'RUNNING', '--yes']);
    expect(cliBad.code).toBe(2);
    expect(cliBad.stderr).toMatch(/--reason/);

    // A single retry of a COMPENSATED saga is refused, and the refusal is in the log under alice's name.
    const single = await system.admin(`/admin/sagas/${stuck[0]}/retry`, { method: 'POST', headers: asAlice });
    expect(single.status).toBe(409);
    const log = (await system.admin<AuditPage>(`/admin/audit-log?sagaId=${stuck[0]}`)).body.items;
    expect(log[0]).toMatchObject({ operator: 'alice', action: 'retry', outcome: 'refused', sagaId: stuck[0] });
  });
});
