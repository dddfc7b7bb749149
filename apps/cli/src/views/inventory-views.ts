import type { OrphanReport, RepairResult, SiteLookup } from '@sitesaga/http-contracts';
import { formatTable, paintWith, printable } from '../terminal/terminal-text';

/** Pure text of `saga orphans`, `saga repair-orphans` and `saga site`. */
export interface InventoryViewOptions {
  readonly color?: boolean;
}

/** `saga orphans`. */
export function renderOrphanReport(report: OrphanReport, options: InventoryViewOptions = {}): string[] {
  const paint = paintWith(options.color ?? false);
  const lines: string[] = [];
  if (report.truncated.length > 0) {
    lines.push(paint('red', `incomplete audit: ${report.truncated.join(', ')} listed only up to ORPHAN_AUDIT_MAX_ITEMS (repair is refused)`));
  }
  if (report.orphans.length === 0 && report.incomplete.length === 0) {
    lines.push(
      `clean: nothing orphaned, every live site complete (${report.liveSites} live sites${report.inFlight ? `; ${report.inFlight} items of sagas in flight left out` : ''})`,
    );
    return lines;
  }
  const counts = Object.entries(report.counts)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  lines.push(`${report.orphans.length} orphans, ${report.incomplete.length} incomplete sites (${counts}); ${report.liveSites} live sites`);
  if (report.orphans.length > 0) {
    lines.push('');
    lines.push(
      ...formatTable(
        [{ title: 'KIND' }, { title: 'NAME' }, { title: 'SITE' }, { title: 'SAGA' }, { title: 'WHY' }, { title: 'REPAIR' }],
        report.orphans.map((orphan) => [
          orphan.kind,
          printable(orphan.name),
          orphan.site ? `${printable(orphan.site.name)} (${orphan.site.status})` : '-',
          orphan.sagaId ? `${orphan.sagaId}${orphan.saga ? ` ${orphan.saga.type} ${orphan.saga.status}` : ''}` : '-',
          printable(orphan.reason),
          orphan.repair.length > 0 ? orphan.repair.map((command) => command.command).join('+') : 'by hand',
        ]),
        paint,
      ),
    );
  }
  if (report.incomplete.length > 0) {
    lines.push('', 'incomplete sites:');
    for (const site of report.incomplete) {
      lines.push(
        `  ${site.siteId}  ${printable(site.site.name)} (${site.site.status})  saga ${site.saga ? `${site.saga.id} ${site.saga.type} ${site.saga.status}` : site.sagaId}`,
      );
      for (const problem of site.problems) lines.push(`    - ${printable(problem)}`);
      if (site.hint) lines.push(`    ${printable(site.hint)}`);
    }
  }
  const repairable = report.orphans.some((orphan) => orphan.repair.length > 0) || report.incomplete.some((site) => site.repair.length > 0);
  if (repairable) lines.push('', 'to see what a repair would send: saga repair-orphans');
  return lines;
}

/** `saga repair-orphans`. */
export function renderRepair(result: RepairResult, options: InventoryViewOptions = {}): string[] {
  const paint = paintWith(options.color ?? false);
  const count = `${result.commands.length} command${result.commands.length === 1 ? '' : 's'}`;
  const lines = [
    result.dryRun
      ? `dry run: would send ${count} (nothing sent; repair ${result.repairId})`
      : paint('bold', `sent ${count} as ${result.operator} (repair ${result.repairId})`),
  ];
  if (result.commands.length > 0) {
    lines.push(
      ...formatTable(
        [{ title: 'COMMAND' }, { title: 'SITE' }, { title: 'TOPIC' }, { title: 'MESSAGE' }],
        result.commands.map((command) => [command.command, command.siteId, command.topic, command.messageId ?? '-']),
        paint,
      ),
    );
  }
  for (const skipped of result.skipped) lines.push(`not repairable here: ${skipped.kind} ${printable(skipped.name)}: ${printable(skipped.reason)}`);
  if (result.dryRun && result.commands.length > 0) lines.push('', 'to send them: saga repair-orphans --execute (same filters)');
  if (!result.dryRun && result.commands.length > 0) lines.push('', 'then check: saga orphans');
  if (result.commands.length === 0 && result.skipped.length === 0) lines.push('nothing to repair');
  return lines;
}

/** `saga site <key>`. */
export function renderSiteLookup(lookup: SiteLookup, options: InventoryViewOptions = {}): string[] {
  const paint = paintWith(options.color ?? false);
  const yes = (exists: boolean) => (exists ? paint('green', 'exists') : paint('red', 'absent'));
  const lines: string[] = [];
  for (const site of lookup.sites) {
    if (lines.length > 0) lines.push('');
    lines.push(
      paint('bold', site.site ? `${printable(site.site.name)}  ${printable(site.site.domain)}  ${site.site.status}` : 'no site record'),
      `site id    ${site.siteId}`,
      `directory  ${yes(site.effects.directory)}`,
      `database   ${yes(site.effects.database)}`,
      `role       ${yes(site.effects.role)}`,
      '',
      'records:',
      ...formatTable(
        [{ title: 'SERVICE' }, { title: 'STATUS' }, { title: 'SAGA' }],
        (['sites', 'storage', 'databases', 'bootstrap'] as const).map((service) => {
          const record = site.records[service];
          return [service, record ? (record.status ?? '-') : 'no record', record?.sagaId ?? '-'];
        }),
        paint,
      ).map((line) => `  ${line}`),
      '',
      `sagas (${site.sagas.length}):`,
      ...(site.sagas.length === 0
        ? ['  none']
        : formatTable(
            [{ title: 'SAGA' }, { title: 'TYPE' }, { title: 'STATUS' }, { title: 'STEP' }, { title: 'CREATED' }],
            site.sagas.map((saga) => [
              saga.id,
              printable(saga.type),
              saga.status,
              saga.waitingOn.length > 0 ? `at ${saga.waitingOn.join(', ')}` : saga.failedStep ? `failed at ${printable(saga.failedStep)}` : '',
              saga.createdAt,
            ]),
            paint,
          ).map((line) => `  ${line}`)),
    );
    lines.push(
      site.problems.length === 0 ? 'consistent: records and effects agree' : 'problems:',
      ...site.problems.map((problem) => `  - ${printable(problem)}`),
    );
  }
  return lines;
}
