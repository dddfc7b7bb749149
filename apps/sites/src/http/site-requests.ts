import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { CreateSite, type CreateSitePayload, DeleteSite, type FieldReason } from '@sitesaga/contracts';
import { UnitOfWork } from '@sitesaga/messaging';
import { createHash, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { type SiteStatus, siteUrlOf } from '../domain/site-status';
import { clientUsage, heldByLiveSiteOrOpenRequest, type ListCursor, type ListFilter, listSites, type SiteView, viewSite } from '../persistence/site-records';
import type { Caller } from './client-auth';
import { type ClientQuotas, QuotaExceeded } from './client-quotas';

export const CLIENT_QUOTAS = Symbol('CLIENT_QUOTAS');

/** The client a caller acts for: null for an operator (sees all, owns what it creates, no quota). */
const clientOf = (caller: Caller): string | null => (caller.kind === 'client' ? caller.clientId : null);

/** The list cursor as the client sees it: opaque, URL-safe. */
export const encodeCursor = (cursor: ListCursor): string => Buffer.from(`${cursor.createdUs}.${cursor.id}`, 'utf8').toString('base64url');

export interface Accepted {
  readonly siteId: string;
  readonly sagaId: string;
  readonly status: 'PENDING' | 'DELETING';
  /** True when an Idempotency-Key matched an earlier request: nothing was sent again. */
  readonly replayed: boolean;
}

/** A site as the HTTP API shows it. */
export const presentSite = (site: SiteView) => ({
  id: site.id,
  name: site.name,
  domain: site.domain,
  tagline: site.tagline,
  adminEmail: site.adminEmail,
  status: site.status,
  sagaId: site.sagaId,
  url: site.status === 'ACTIVE' ? siteUrlOf(site.domain) : null,
  ...(site.reason ? { reason: site.reason } : {}),
  createdAt: site.createdAt,
  updatedAt: site.updatedAt,
});

const conflict = (message: string, errors: FieldReason[], extra: Record<string, unknown> = {}): ConflictException =>
  new ConflictException({ message, errors, ...extra });

const hashOf = (payload: CreateSitePayload): string =>
  createHash('sha256')
    .update(JSON.stringify([payload.name, payload.domain, payload.tagline ?? null, payload.adminEmail]))
    .digest('hex');

/**
 * What the HTTP API asks of the saga: create and delete go to `site-saga.commands`
 * through the outbox, in the same transaction as the row that remembers the request.
 *
 * For a create-site saga the site id IS the saga id: the client gets its site id at once,
 * and the orchestrator names the site by the saga id it was given.
 */
@Injectable()
export class SiteRequests {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly unitOfWork: UnitOfWork,
    @Inject(CLIENT_QUOTAS) private readonly quotas: ClientQuotas,
  ) {}

  async create(payload: CreateSitePayload, options: { idempotencyKey: string | null; requestId: string; caller: Caller }): Promise<Accepted> {
    const requestHash = hashOf(payload);
    const clientId = clientOf(options.caller);
    // Keys are per client: one client's key never finds (or blocks) another's request. A
    // space cannot occur in a key, so the scoped forms never collide.
    const idempotencyKey = options.idempotencyKey === null ? null : clientId === null ? options.idempotencyKey : `${clientId} ${options.idempotencyKey}`;
    if (idempotencyKey) {
      const earlier = await this.replay(idempotencyKey, requestHash);
      if (earlier) return earlier;
    }

    // The fast, friendly check. The guarantee is the unique index ReserveSite relies on.
    const taken = await heldByLiveSiteOrOpenRequest(this.dataSource.manager, payload.name, payload.domain);
    const errors: FieldReason[] = [
      ...(taken.name ? [{ field: 'name', message: 'is taken' }] : []),
      ...(taken.domain ? [{ field: 'domain', message: 'is taken' }] : []),
    ];
    if (errors.length > 0) {
      // A concurrent request with the same key may be the very holder: that is a replay.
      const earlier = idempotencyKey ? await this.replay(idempotencyKey, requestHash) : null;
      if (earlier) return earlier;
      throw conflict('site name or domain is taken', errors);
    }

    const siteId = randomUUID();
    const outcome = await this.unitOfWork.run(null, async (tx) => {
      if (clientId !== null) {
        // One client's requests take turns here, so two at once cannot both pass the last slot.
        await tx.manager.query(`SELECT pg_advisory_xact_lock(hashtext('sites-quota'), hashtext($1))`, [clientId]);
        const usage = await clientUsage(tx.manager, clientId);
        if (usage.liveSites >= this.quotas.maxSites) return new QuotaExceeded('sites', this.quotas.maxSites, 60);
        if (usage.lastMinute >= this.quotas.createsPerMinute) return new QuotaExceeded('createsPerMinute', this.quotas.createsPerMinute, usage.retryAfterSeconds);
      }
      const inserted: unknown[] = await tx.manager.query(
        `INSERT INTO site_requests (site_id, idempotency_key, request_hash, name, domain, tagline, admin_email, correlation_id, client_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING RETURNING site_id`,
        [siteId, idempotencyKey, requestHash, payload.name, payload.domain, payload.tagline ?? null, payload.adminEmail, options.requestId, clientId],
      );
      if (inserted.length === 0) return false; // the same key, committed meanwhile by a concurrent request
      tx.publish(CreateSite.create(payload, { sagaId: siteId, correlationId: options.requestId, causationId: null }));
      return true;
    });
    if (outcome.status === 'done' && outcome.result instanceof QuotaExceeded) throw outcome.result;
    if (outcome.status === 'done' && !outcome.result && idempotencyKey) {
      const earlier = await this.replay(idempotencyKey, requestHash);
      if (earlier) return earlier;
    }
    return { siteId, sagaId: siteId, status: 'PENDING', replayed: false };
  }

  /** 404 for no such site, 403 for another client's: an operator may act on every site. */
  private async ensureVisible(siteId: string, caller: Caller): Promise<SiteView> {
    const site = await viewSite(this.dataSource.manager, siteId);
    if (!site) throw new NotFoundException({ message: 'site not found', errors: [{ field: 'id', message: 'no such site' }] });
    const clientId = clientOf(caller);
    if (clientId !== null && site.clientId !== clientId) {
      throw new ForbiddenException({ message: 'this site belongs to another client', errors: [{ field: 'id', message: 'is not one of your sites' }] });
    }
    return site;
  }

  /** The ids given for an earlier request with this key; 422 when the key came with another request. */
  private async replay(idempotencyKey: string, requestHash: string): Promise<Accepted | null> {
    const rows: { site_id: string; request_hash: string }[] = await this.dataSource.query(
      `SELECT site_id, request_hash FROM site_requests WHERE idempotency_key = $1`,
      [idempotencyKey],
    );
    const earlier = rows[0];
    if (!earlier) return null;
    if (earlier.request_hash !== requestHash) {
      throw new UnprocessableEntityException({
        message: 'Idempotency-Key was already used for a different request',
        errors: [{ field: 'Idempotency-Key', message: 'was used with another body' }],
      });
    }
    return { siteId: earlier.site_id, sagaId: earlier.site_id, status: 'PENDING', replayed: true };
  }

  /**
   * Marks the site DELETING and sends DeleteSite in one transaction, so a second DELETE
   * is a 409 rather than a second saga. MarkSiteDeleting accepts DELETING as done.
   */
  async delete(siteId: string, requestId: string, caller: Caller): Promise<Accepted> {
    await this.ensureVisible(siteId, caller); // the owner never changes: no race with the update below
    const sagaId = randomUUID();
    const outcome = await this.unitOfWork.run(null, async (tx) => {
      const [moved]: [unknown[], number] = await tx.manager.query(
        `UPDATE sites SET status = 'DELETING', saga_id = $2, updated_at = now() WHERE id = $1 AND status IN ('ACTIVE', 'FAILED') RETURNING id`,
        [siteId, sagaId],
      );
      if (moved.length === 0) return viewSite(tx.manager, siteId).then((site) => site?.status ?? null);
      tx.publish(DeleteSite.create({ siteId }, { sagaId, correlationId: requestId, causationId: null }));
      return 'accepted' as const;
    });
    const result = outcome.status === 'done' ? outcome.result : null;
    if (result === 'accepted') return { siteId, sagaId, status: 'DELETING', replayed: false };
    if (result === null) throw new NotFoundException({ message: 'site not found', errors: [{ field: 'id', message: 'no such site' }] });
    const why: Record<Exclude<SiteStatus, 'ACTIVE'>, string> = {
      PENDING: 'is still being created',
      FAILED: 'was never created',
      DELETING: 'is already being deleted',
      DELETED: 'is already deleted',
    };
    throw conflict(`site ${why[result as Exclude<SiteStatus, 'ACTIVE'>]}`, [{ field: 'id', message: why[result as Exclude<SiteStatus, 'ACTIVE'>] }], {
      siteId,
      status: result,
    });
  }

  async find(siteId: string, caller: Caller): Promise<ReturnType<typeof presentSite>> {
    return presentSite(await this.ensureVisible(siteId, caller));
  }

  /** A page of the caller's sites (every site for an operator), newest first; `nextCursor` names the next page, null at the end. */
  async list(
    filter: Omit<ListFilter, 'clientId'>,
    caller: Caller,
  ): Promise<{ items: ReturnType<typeof presentSite>[]; nextCursor: string | null }> {
    const clientId = clientOf(caller);
    const rows = await listSites(this.dataSource.manager, { ...filter, limit: filter.limit + 1, ...(clientId === null ? {} : { clientId }) });
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return { items: page.map(presentSite), nextCursor: rows.length > filter.limit && last ? encodeCursor({ createdUs: last.createdUs, id: last.id }) : null };
  }
}
