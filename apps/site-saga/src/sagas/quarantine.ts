import { SagaNeedsAttention } from '@sitesaga/contracts';
import { emit, type OutgoingMessage, type Quarantine, type SagaState } from '@sitesaga/saga';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What people hear when a saga is set aside (its type or step unknown, its data broken):
 * `SagaNeedsAttention`. Its data may be anything, so the site id is read defensively; a
 * saga of ours names its site, and a create-site saga's id is its site id.
 */
export function sagaNeedsAttentionOnQuarantine(saga: SagaState, quarantine: Quarantine): OutgoingMessage[] {
  const named = (saga.data as { siteId?: unknown } | null)?.siteId;
  const siteId = typeof named === 'string' && UUID.test(named) ? named : saga.id;
  return [
    emit(SagaNeedsAttention, {
      siteId,
      sagaType: saga.type.slice(0, 200),
      step: quarantine.step?.slice(0, 200) ?? '(saga)',
      reason: `set aside: ${quarantine.reason}`.slice(0, 2000),
    }),
  ];
}
