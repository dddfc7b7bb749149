import { orphanReport, repairResult, siteLookup } from '@sitesaga/http-contracts';
import type { Invocation } from '../arguments/command-line';
import { writeLines } from '../terminal/output';
import { renderOrphanReport, renderRepair, renderSiteLookup } from '../views/inventory-views';
import { adminClientOf, type CliContext, colourOf, configOf } from './command-context';

type Of<C extends string> = Extract<Invocation, { command: C }>;

/** `saga orphans`: the audit; exit 1 when it found anything (scripts can alert on it). */
export async function orphansCommand(invocation: Of<'orphans'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const report = await client.call(orphanReport, 'GET', '/admin/orphans', 'orphan audit');
  if (invocation.json) context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else writeLines(context.stdout, renderOrphanReport(report, { color: colourOf(invocation, context) }));
  return report.orphans.length + report.incomplete.length > 0 ? 1 : 0;
}

/** `saga repair-orphans [--execute]`: a dry run unless --execute. */
export async function repairOrphansCommand(invocation: Of<'repair-orphans'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const body = {
    dryRun: !invocation.execute,
    ...(invocation.kinds ? { kinds: invocation.kinds } : {}),
    ...(invocation.siteIds ? { siteIds: invocation.siteIds } : {}),
  };
  const result = await client.call(repairResult, 'POST', '/admin/orphans/repair', 'orphan repair', undefined, body);
  if (invocation.json) context.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else writeLines(context.stdout, renderRepair(result, { color: colourOf(invocation, context) }));
  return 0;
}

/** `saga site <name|domain|id>`. */
export async function siteCommand(invocation: Of<'site'>, context: CliContext): Promise<number> {
  const client = adminClientOf(configOf(invocation, context), context);
  const lookup = await client.call(
    siteLookup,
    'GET',
    `/admin/sites/${encodeURIComponent(invocation.key)}`,
    `site ${invocation.key}`,
    `no site, record, effect or saga has the key "${invocation.key}"`,
  );
  if (invocation.json) context.stdout.write(`${JSON.stringify(lookup, null, 2)}\n`);
  else writeLines(context.stdout, renderSiteLookup(lookup, { color: colourOf(invocation, context) }));
  return 0;
}
