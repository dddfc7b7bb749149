import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DeprovisionStorage, DropDatabase, type Envelope, ReleaseSite } from '@sitesaga/contracts';
import type { IncompleteSite, OrphanItem, RepairCommand, RepairRequest, RepairResult } from '@sitesaga/http-contracts';
import { UnitOfWork } from '@sitesaga/messaging';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { AuditLog } from '../admin/bulk/audit-log';
import { INVENTORY_LOGGER } from './inventory-options';
import { OrphanAuditor } from './orphan-auditor';

const COMMANDS = { DeprovisionStorage, DropDatabase, ReleaseSite } as const;

/** At most this many commands per repair: a larger backlog is repaired in several runs. */
export const REPAIR_MAX_COMMANDS = 500;

type Repairable = OrphanItem | IncompleteSite;
const kindOf = (item: Repairable): string => ('kind' in item ? item.kind : 'incomplete-site');
const nameOf = (item: Repairable): string => ('kind' in item ? item.name : item.siteId);
/** What the operator asked to repair, as the audit entry's reason. */
const reasonOf = (request: RepairRequest): string =>
  `kinds: ${request.kinds?.join(', ') ?? 'all'}; sites: ${request.siteIds ? `${request.siteIds.length} named` : 'all'}${request.dryRun ? '; dry run' : ''}`;

/**
 * Repairs orphans with the saga's own compensations, sent through the outbox to each
 * participant's commands topic as any saga sends them (never by touching another service's
 * store). Guarded: it audits again first and acts only on what is still an orphan; a
 * truncated audit repairs nothing; a dry run (the default) sends nothing and says what it
 * would send. Every run is recorded in `orphan_repairs` with the operator's name, and in
 * the audit log (`orphan-repair`, in the same transaction), as is a refused one.
 */
@Injectable()
export class OrphanRepair {
  constructor(
    private readonly auditor: OrphanAuditor,
    private readonly unitOfWork: UnitOfWork,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(INVENTORY_LOGGER) private readonly logger: Logger,
    private readonly audit: AuditLog,
  ) {}

  async repair(request: RepairRequest, operator: string): Promise<RepairResult> {
    const report = await this.auditor.audit();
    if (report.truncated.length > 0) {
      const message = `the audit is incomplete (${report.truncated.join(', ')} listed only up to ORPHAN_AUDIT_MAX_ITEMS): nothing is repaired`;
      await this.audit
        .record({ operator, action: 'orphan-repair', outcome: 'refused', reason: reasonOf(request), detail: message })
        .catch((error: unknown) => this.logger.error({ err: error, operator }, 'could not write an audit log entry'));
      throw new ConflictException({ message, errors: [] });
    }
    const selected: Repairable[] = [...report.orphans, ...report.incomplete].filter(
      (item) =>
        (!request.kinds || request.kinds.includes(kindOf(item) as never)) &&
        (!request.siteIds || (item.siteId !== null && request.siteIds.includes(item.siteId))),
    );
    const repaired = selected.filter((item) => item.repair.length > 0);
    const skipped = selected
      .filter((item) => item.repair.length === 0)
      .map((item) => ({ kind: kindOf(item), name: nameOf(item), reason: item.hint ?? 'no participant command undoes it' }));
    const wanted = new Map<string, RepairCommand>();
    for (const item of repaired) for (const command of item.repair) wanted.set(`${command.command}:${command.siteId}`, command);
    const commands = [...wanted.values()].slice(0, REPAIR_MAX_COMMANDS);

    const repairId = randomUUID();
    // The causation names the operator, as an operator's retry or abort does in a saga's history.
    const causation = { sagaId: repairId, correlationId: repairId, causationId: `operator:${operator}:${repairId}` };
    const envelopes: Envelope[] = commands.map((command) => COMMANDS[command.command].create({ siteId: command.siteId }, causation));
    const at = new Date();
    const sent = envelopes.map((envelope, index) => ({
      command: commands[index]!.command,
      siteId: commands[index]!.siteId,
      topic: COMMANDS[commands[index]!.command].topic,
      messageId: request.dryRun ? null : envelope.id,
      payload: envelope.payload as Record<string, unknown>,
    }));
    await this.unitOfWork.run(null, async (tx) => {
      await tx.manager.query(`INSERT INTO orphan_repairs (id, operator, dry_run, requested, commands, skipped, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        repairId,
        operator,
        request.dryRun,
        JSON.stringify(request),
        JSON.stringify(sent),
        JSON.stringify(skipped),
        at,
      ]);
      if (!request.dryRun) for (const envelope of envelopes) tx.publish(envelope);
      const what = `${commands.length} ${commands.length === 1 ? 'command' : 'commands'}, ${skipped.length} skipped (repair ${repairId})`;
      await this.audit.record(
        { operator, action: 'orphan-repair', outcome: 'accepted', reason: reasonOf(request), detail: request.dryRun ? `dry run: would send ${what}` : `sent ${what}` },
        tx.manager,
      );
    });
    this.logger.info(
      { repairId, operator, dryRun: request.dryRun, commands: commands.length, skipped: skipped.length },
      request.dryRun ? 'orphan repair dry run' : 'orphan repair sent',
    );
    return {
      repairId,
      operator,
      dryRun: request.dryRun,
      commands: sent,
      repaired,
      skipped,
      at: at.toISOString(),
    };
  }

  /** The newest repairs, dry runs included. */
  async log(limit = 50): Promise<{ items: Omit<RepairResult, 'repaired'>[] }> {
    const rows: { id: string; operator: string; dry_run: boolean; commands: RepairResult['commands']; skipped: RepairResult['skipped']; at: Date }[] =
      await this.dataSource.query(`SELECT id, operator, dry_run, commands, skipped, at FROM orphan_repairs ORDER BY at DESC LIMIT $1`, [limit]);
    return {
      items: rows.map((row) => ({
        repairId: row.id,
        operator: row.operator,
        dryRun: row.dry_run,
        commands: row.commands,
        skipped: row.skipped,
        at: row.at.toISOString(),
      })),
    };
  }
}
