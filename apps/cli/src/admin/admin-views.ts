import type { StepView } from '@sitesaga/http-contracts';

/**
 * The admin API's JSON as this CLI reads it: the very zod shapes site-saga answers with
 * (libs/http-contracts, admin-api.ts). The CLI talks to the orchestrator over HTTP only;
 * the admin client checks every answer against its shape.
 */
export {
  type HistoryView,
  SAGA_STATUSES,
  type SagaDetail,
  type SagaPage,
  type SagaStats,
  type SagaStatus,
  type SagaSummary,
  type StepView,
} from '@sitesaga/http-contracts';

export type StepStateName = StepView['state'];

export const TERMINAL_STATUSES = ['COMPLETED', 'COMPENSATED', 'FAILED'] as const;
export const isTerminalStatus = (status: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status);
