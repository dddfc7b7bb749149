import type { FieldReason } from '@sitesaga/contracts';
import { SITE_STATUSES } from '@sitesaga/http-contracts';

/**
 * A site record's life: `PENDING → ACTIVE`, `FAILED` (released by a compensation),
 * `DELETING → DELETED`. Only a PENDING or ACTIVE site holds its name and domain.
 */
export { SITE_STATUSES };
export type SiteStatus = (typeof SITE_STATUSES)[number];

/**
 * Statuses that hold the name and domain (the partial unique indexes cover only them).
 * A DELETING site no longer does: deletion has no way back to ACTIVE, and a FAILED site
 * (whose name may have been taken since) must be able to become DELETING.
 */
export const HOLDING_STATUSES: readonly SiteStatus[] = ['PENDING', 'ACTIVE'];

export const isSiteStatus = (value: unknown): value is SiteStatus => typeof value === 'string' && (SITE_STATUSES as readonly string[]).includes(value);

/**
 * From which statuses each command moves a site, the target status included so that a
 * repeated command (a new envelope for a step already done) succeeds again.
 */
export const TRANSITIONS = {
  activate: { from: ['PENDING', 'ACTIVE'], to: 'ACTIVE' },
  release: { from: ['PENDING', 'ACTIVE', 'FAILED'], to: 'FAILED' },
  markDeleting: { from: ['ACTIVE', 'FAILED', 'DELETING'], to: 'DELETING' },
  markDeleted: { from: ['DELETING', 'DELETED'], to: 'DELETED' },
} as const satisfies Record<string, { from: readonly SiteStatus[]; to: SiteStatus }>;

/** What a client opens once the site is active. */
export const siteUrlOf = (domain: string): string => `https://${domain}`;

export interface ReservationRequest {
  readonly name: string;
  readonly domain: string;
}

export interface ExistingSite extends ReservationRequest {
  readonly status: SiteStatus;
}

/**
 * A ReserveSite for a site id that already has a record: the same reservation again is a
 * success (the reply was lost, or the orchestrator re-sent it); anything else is refused.
 */
export function repeatedReservation(existing: ExistingSite, request: ReservationRequest): { ok: true } | { ok: false; reason: string } {
  if (existing.name !== request.name || existing.domain !== request.domain) {
    return { ok: false, reason: 'site id already names another site' };
  }
  if (existing.status === 'PENDING' || existing.status === 'ACTIVE') return { ok: true };
  return { ok: false, reason: `site is ${existing.status}` };
}

/**
 * Why a reservation is refused, from which of its name and domain a live site holds: one
 * reason per field (carried as such to SiteCreationRejected), and a sentence for people.
 */
export function takenReasons(taken: { name: boolean; domain: boolean }): { reason: string; reasons: FieldReason[] } | null {
  const reasons = (['name', 'domain'] as const).filter((field) => taken[field]).map((field) => ({ field, message: 'taken' }));
  return reasons.length > 0 ? { reason: reasons.map((reason) => `${reason.field} ${reason.message}`).join('; '), reasons } : null;
}

/** Why a command cannot move a site in `status` (null for an unknown site). */
export function refusalOf(command: keyof typeof TRANSITIONS, status: SiteStatus | null): string {
  if (status === null) return 'unknown site';
  if (command === 'markDeleting' && status === 'PENDING') return 'site is still being created';
  if (command === 'markDeleting' && status === 'DELETED') return 'site is already deleted';
  if (command === 'markDeleted') return `site is not being deleted (status ${status})`;
  return `site is ${status}`;
}
