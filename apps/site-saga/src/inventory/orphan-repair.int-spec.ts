import { ConflictException } from '@nestjs/common';
import type { OrphanReport } from '@sitesaga/http-contracts';
import pino from 'pino';
import { AuditLog } from '../admin/bulk/audit-log';
import { type AdminTestApp, startAdminTestApp } from '../admin/testing/admin-test-app';
import type { OrphanAuditor } from './orphan-auditor';
import { OrphanRepair } from './orphan-repair';

/*
 * A repair the audit cannot vouch for (a source listed only up to ORPHAN_AUDIT_MAX_ITEMS) is
 * refused, sends nothing, and still leaves its trace in the audit log: who asked, and why it
 * was refused. The whole repair path is in test/e2e/inventory.e2e-spec.ts; this is the
 * refusal, which needs more than 10,000 orphans there.
 */
jest.setTimeout(60_000);

let harness: AdminTestApp;

beforeAll(async () => {
  harness = await startAdminTestApp({ adminToken: 'orphan-repair-int-token-0123456789' });
});
afterAll(async () => {
  await harness?.close();
});

it('refuses a repair over a truncated audit, sends nothing, and records the refusal', async () => {
  const truncated: OrphanReport = {
    auditedAt: new Date().toISOString(),
    liveSites: 0,
    orphans: [],
    incomplete: [],
    counts: {},
    inFlight: 0,
    truncated: ['storage:directories'],
  };
  const auditor = { audit: async () => truncated } as unknown as OrphanAuditor;
  const repair = new OrphanRepair(auditor, harness.unitOfWork, harness.dataSource, pino({ level: 'silent' }), harness.app.get(AuditLog));
  const outboxBefore = await harness.dataSource.query(`SELECT count(*)::int AS n FROM outbox_messages`);

  const refusal = await repair.repair({ dryRun: false, kinds: ['directory'] }, 'alice').then(
    () => null,
    (error: unknown) => error,
  );
  expect(refusal).toBeInstanceOf(ConflictException);
  expect((refusal as ConflictException).message).toContain('storage:directories');

  const entries = (await harness.dataSource.query(`SELECT operator, action, outcome, reason, detail FROM admin_audit_log WHERE action = 'orphan-repair'`)) as Record<
    string,
    string
  >[];
  expect(entries).toEqual([
    {
      operator: 'alice',
      action: 'orphan-repair',
      outcome: 'refused',
      reason: 'kinds: directory; sites: all',
      detail: expect.stringContaining('the audit is incomplete (storage:directories'),
    },
  ]);
  expect(await harness.dataSource.query(`SELECT count(*)::int AS n FROM outbox_messages`)).toEqual(outboxBefore);
});
