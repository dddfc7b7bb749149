/**
 * The admin API's JSON as this CLI reads it (apps/site-saga/src/admin/README.md). Declared
 * here, not imported: the CLI talks to the orchestrator over HTTP only, and tolerates
 * fields it does not know.
 */
export const SAGA_STATUSES = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

export const TERMINAL_STATUSES: readonly SagaStatus[] = ['COMPLETED', 'COMPENSATED', 'FAILED'];
export const isTerminalStatus = (status: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status);

export type StepStateName = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'COMPENSATING' | 'COMPENSATED' | 'SKIPPED';

/** One row of `GET /admin/sagas` and the data of one `event: saga` on the stream. */
export interface SagaSummary {
  readonly id: string;
  readonly type: string;
  readonly status: SagaStatus;
  readonly version: number;
  readonly siteName: string | null;
  readonly siteId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly currentStep: string | null;
  readonly failedStep?: string;
}

export interface SagaPage {
  readonly items: SagaSummary[];
  readonly nextCursor: string | null;
}

export interface StepView {
  readonly name: string;
  readonly state: StepStateName;
  readonly attempts: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  /** Steps sharing a position ran in parallel. */
  readonly position: number;
  readonly compensationAttempts?: number;
  readonly mayHaveTakenEffect?: boolean;
  readonly deadlineAt?: string | null;
  readonly deadlineKind?: 'reply' | 'resend' | null;
  readonly durationMs?: number | null;
}

export interface HistoryView {
  readonly direction: 'in' | 'out';
  readonly topic: string | null;
  readonly messageId: string | null;
  readonly type: string;
  readonly at: string;
  readonly step?: string | null;
}

export interface SagaFailureView {
  readonly failedStep: string;
  readonly reason: string;
  readonly cause: string;
  readonly stuck?: readonly { readonly step: string; readonly reason: string }[];
}

/** `GET /admin/sagas/:id`. */
export interface SagaDetail {
  readonly id: string;
  readonly type: string;
  readonly status: SagaStatus;
  readonly version: number;
  readonly input: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly steps: readonly StepView[];
  readonly history: readonly HistoryView[];
  readonly siteName?: string | null;
  readonly siteId?: string | null;
  readonly correlationId?: string;
  readonly failure?: SagaFailureView | null;
  readonly actions?: { readonly retry: boolean; readonly abort: boolean };
  readonly historyTruncated?: boolean;
}

export interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/** `GET /admin/stats`. */
export interface SagaStats {
  readonly byStatus: Record<string, number>;
  readonly byType: Record<string, Record<string, number>>;
  readonly steps: readonly (LatencyFigures & { readonly name: string })[];
  readonly sagaDurations: LatencyFigures;
  readonly window?: { readonly sagas: number; readonly since: string | null };
  readonly generatedAt?: string;
}
