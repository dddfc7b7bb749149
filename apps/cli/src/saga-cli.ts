import { parseCommandLine } from './arguments/command-line';
import { commandHelp, generalHelp } from './arguments/help-text';
import { CliError, ExitCode } from './cli-errors';
import type { CliContext } from './commands/command-context';
import { createSiteCommand } from './commands/create-site.command';
import { deleteSiteCommand } from './commands/delete-site.command';
import { auditLogCommand, bulkCommand } from './commands/bulk.commands';
import { abortCommand, listCommand, retryCommand, showCommand, statsCommand } from './commands/read.commands';
import { rehearseCommand } from './commands/rehearse.command';
import { tailCommand } from './commands/tail.command';
import { orphansCommand, repairOrphansCommand, siteCommand } from './commands/inventory.commands';

export const VERSION = '0.1.0';

/** Runs one command line and returns the exit code; expected failures are printed, never thrown. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  try {
    const invocation = parseCommandLine(argv);
    switch (invocation.command) {
      case 'help':
        context.stdout.write(`${invocation.topic ? commandHelp(invocation.topic) : generalHelp()}\n`);
        return ExitCode.ok;
      case 'version':
        context.stdout.write(`saga ${VERSION}\n`);
        return ExitCode.ok;
      case 'create-site':
        return await createSiteCommand(invocation, context);
      case 'delete-site':
        return await deleteSiteCommand(invocation, context);
      case 'list':
        return await listCommand(invocation, context);
      case 'show':
        return await showCommand(invocation, context);
      case 'retry':
        return await retryCommand(invocation, context);
      case 'abort':
        return await abortCommand(invocation, context);
      case 'stats':
        return await statsCommand(invocation, context);
      case 'tail':
        return await tailCommand(invocation, context);
      case 'bulk':
        return await bulkCommand(invocation, context);
      case 'audit-log':
        return await auditLogCommand(invocation, context);
      case 'rehearse':
        return await rehearseCommand(invocation, context);
      case 'orphans':
        return await orphansCommand(invocation, context);
      case 'repair-orphans':
        return await repairOrphansCommand(invocation, context);
      case 'site':
        return await siteCommand(invocation, context);
    }
  } catch (error) {
    return report(error, context);
  }
}

function report(error: unknown, context: CliContext): number {
  if (error instanceof CliError) {
    context.stderr.write(`saga: ${error.message}\n${error.details.map((line) => `${line}\n`).join('')}`);
    return error.exitCode;
  }
  // A bug, not an expected failure: say what it is; the stack only on request.
  context.stderr.write(`saga: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
  if (context.env.SAGA_DEBUG && error instanceof Error && error.stack) context.stderr.write(`${error.stack}\n`);
  else context.stderr.write('(set SAGA_DEBUG=1 for details)\n');
  return ExitCode.failed;
}
