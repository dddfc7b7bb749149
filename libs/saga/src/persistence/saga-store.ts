import type { Envelope } from '@sitesaga/message-kit';
import type { EntityManager } from 'typeorm';
import { ExclusionGuessFailed, SagaAlreadyStarted, SagaConcurrencyConflict } from '../errors';
import type { HistoryEntry, HistoryHops, SagaState, StepState } from '../saga-state';

/** A step whose deadline passed: hand it to `SagaEngine.fireDeadline`. */
export interface DueDeadline {
  readonly sagaId: string;
  readonly step: string;
  /** The deadline as stored (what `fireDeadline` checks it still is). */
  readonly deadlineAt: Date;
  /** When it fell due: `deadlineAt` moved by the time its command waited in the outbox. */
  readonly dueAt: Date;
}

export interface SagaStoreOptions {
  /**
   * The host's transactional outbox table (in the same database), with `message_id`,
   * `created_at` (the commit) and `sent_at` (the broker's ack) columns. When given, a
   * reply deadline counts from the moment its command reached the broker, not from the
   * commit: a command still waiting in the outbox is not due, and one sent late is due
   * that much later. Without it, deadlines count from the commit.
   */
  readonly outboxTable?: string;
  /**
   * A command unsent for this long no longer holds its deadline back (default 10 min):
   * a row the relay can never publish must not make its saga wait forever. Plumbing
   * outages longer than that are covered by the host pausing its sweeps.
   */
  readonly unsentGraceMs?: number;
}

/**
 * A write the host's transaction runs with its COMMIT (libs/messaging's `Transaction.defer`
 * has this shape): the statement, its parameters, and how to tell its failure.
 */
export interface DeferredSagaWrite {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly explainFailure?: (error: unknown) => Error | undefined;
}

/**
 * Where the store writes: an EntityManager (at once, in its transaction), or a transaction
 * that can also `defer` a write to its COMMIT's round trip — then it is deferred, and its
 * check (the version, the id not taken) fails the COMMIT instead of the call.
 */
export type SagaWriteTarget = EntityManager | { readonly manager: EntityManager; defer?(write: DeferredSagaWrite): void };

const deferrerOf = (target: SagaWriteTarget): ((write: DeferredSagaWrite) => void) | null => {
  const candidate = target as { manager?: unknown; defer?: (write: DeferredSagaWrite) => void };
  return typeof candidate.defer === 'function' && candidate.manager !== undefined ? (write) => candidate.defer!(write) : null;
};
const managerOf = (target: SagaWriteTarget): EntityManager => ('query' in target && typeof target.query === 'function' ? target : (target as { manager: EntityManager }).manager);

/** A deferred write's check failed: `saga_expect_one_row` raised `message` (SQLSTATE 40001). */
const raised = (error: unknown, message: string): boolean =>
  (error as { code?: unknown })?.code === '40001' && (error as { message?: unknown })?.message === message;

const IDENTIFIER = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

export interface StoredHistoryEntry extends HistoryEntry {
  /** Order of arrival (bigint, as a string). */
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/*
 * Writes go out as one statement each: the saga row, its changed steps and its history
 * rows are sent as JSON parameters and written by data-modifying CTEs. The steps and history
 * inserts select FROM the instance CTE, so when the version check matches no row nothing
 * else is written either. One round trip per event keeps orchestration overhead small.
 */
const STEP_COLUMNS = `name text, position int, state text, attempts int, compensation_attempts int, may_have_taken_effect boolean,
  deadline_at timestamptz, deadline_kind text, last_message_id text, started_at timestamptz, finished_at timestamptz, error text`;

const UPSERT_STEPS = `
  INSERT INTO saga_steps (saga_id, name, position, state, attempts, compensation_attempts, may_have_taken_effect,
                          deadline_at, deadline_kind, last_message_id, started_at, finished_at, error)
  SELECT saga.id, s.name, s.position, s.state, s.attempts, s.compensation_attempts, s.may_have_taken_effect,
         s.deadline_at, s.deadline_kind, s.last_message_id, s.started_at, s.finished_at, s.error
    FROM saga, jsonb_to_recordset($STEPS::jsonb) AS s(${STEP_COLUMNS})
  ON CONFLICT (saga_id, name) DO UPDATE SET
    position = EXCLUDED.position, state = EXCLUDED.state, attempts = EXCLUDED.attempts,
    compensation_attempts = EXCLUDED.compensation_attempts, may_have_taken_effect = EXCLUDED.may_have_taken_effect,
    deadline_at = EXCLUDED.deadline_at, deadline_kind = EXCLUDED.deadline_kind, last_message_id = EXCLUDED.last_message_id,
    started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, error = EXCLUDED.error`;

const INSERT_HISTORY = `
  INSERT INTO saga_history (saga_id, direction, topic, message_id, type, step, at, hops)
  SELECT saga.id, h.direction, h.topic, h.message_id, h.type, h.step, h.at, h.hops
    FROM saga, jsonb_to_recordset($HISTORY::jsonb) AS h(ord int, direction text, topic text, message_id text, type text, step text, at timestamptz, hops jsonb)
   ORDER BY h.ord`;

const withParameters = (sql: string, steps: number, history: number): string => sql.replace('$STEPS', () => `$${steps}`).replace('$HISTORY', () => `$${history}`);

const INSERT_SAGA = `
  WITH saga AS (
    INSERT INTO saga_instances (id, type, status, version, data, failure, correlation_id, search_key, created_at, updated_at, definition_version)
    VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $13)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
  ),
  steps AS (${withParameters(UPSERT_STEPS, 11, 12)}),
  history AS (${withParameters(INSERT_HISTORY, 11, 12)})
  SELECT count(*)::int AS written FROM saga`;

/** A statement whose last SELECT counts the rows `saga` wrote, made to fail (40001) unless it is one: for a write deferred to the COMMIT. */
const expectingOneRow = (sql: string, messageParameter: number): string =>
  sql.replace(/SELECT count\(\*\)::int AS written FROM saga$/, `SELECT saga_expect_one_row(count(*), $${messageParameter}) FROM saga`);

const SAVE_SAGA = `
  WITH saga AS (
    UPDATE saga_instances
       SET status = $3, version = $2 + 1, data = $4::jsonb, failure = $5::jsonb, search_key = $6, updated_at = $7
     WHERE id = $1 AND version = $2
    RETURNING id
  ),
  steps AS (${withParameters(UPSERT_STEPS, 8, 9)}),
  history AS (${withParameters(INSERT_HISTORY, 8, 9)})
  SELECT count(*)::int AS written FROM saga`;

/** The holder of the exclusion key the saga `i` waits for (null when it waits for none): by primary keys. */
export const WAITING_FOR = `(SELECT h.saga_id FROM saga_exclusion_waiters w JOIN saga_exclusion_holders h ON h.exclusion_key = w.exclusion_key WHERE w.saga_id = i.id)`;

/**
 * Which sagas the deadline scan leaves alone: those of a known type whose definition
 * version is not deployed ($known: types, $deployed: `type@version`). Their deadlines
 * wait (and fire) until that version is deployed again; an unknown type is still handed
 * over, to be set aside.
 */
const DEPLOYED_ONLY = (known: number, deployed: number): string => `
  NOT EXISTS (SELECT 1 FROM saga_instances i
               WHERE i.id = s.saga_id AND i.type = ANY($${known}::text[]) AND NOT ((i.type || '@' || i.definition_version) = ANY($${deployed}::text[])))`;

/** Which versions of which types a host runs (SagaEngine.deployment). */
export interface Deployment {
  readonly types: readonly string[];
  /** `type@version` of every deployed definition. */
  readonly deployed: readonly string[];
}

/** A reply parked for a saga whose definition version is not deployed (see SagaEngine.handleReply). */
export interface ParkedReply {
  readonly id: string;
  readonly sagaId: string;
  readonly envelope: Envelope;
}

const LOAD_SAGA = `
  SELECT i.id, i.type, i.status, i.version, i.definition_version, i.data, i.failure, i.correlation_id, i.search_key, i.created_at, i.updated_at,
         ${WAITING_FOR} AS waiting_for,
         COALESCE((SELECT json_agg(s ORDER BY s.position, s.name) FROM saga_steps s WHERE s.saga_id = i.id), '[]'::json) AS steps
    FROM saga_instances i
   WHERE i.id = $1`;

interface SagaRow {
  id: string;
  type: string;
  status: SagaState['status'];
  version: number;
  definition_version: number;
  waiting_for: string | null;
  data: unknown;
  failure: SagaState['failure'];
  correlation_id: string;
  search_key: string | null;
  created_at: Date;
  updated_at: Date;
  steps: StepJson[];
}

interface StepJson {
  name: string;
  position: number;
  state: StepState['state'];
  attempts: number;
  compensation_attempts: number;
  may_have_taken_effect: boolean;
  deadline_at: string | null;
  deadline_kind: StepState['deadlineKind'];
  last_message_id: string | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

const toDate = (value: string | Date | null): Date | null => (value === null ? null : new Date(value));

const stepFromJson = (row: StepJson): StepState => ({
  name: row.name,
  position: row.position,
  state: row.state,
  attempts: row.attempts,
  compensationAttempts: row.compensation_attempts,
  mayHaveTakenEffect: row.may_have_taken_effect,
  deadlineAt: toDate(row.deadline_at),
  deadlineKind: row.deadline_kind,
  lastMessageId: row.last_message_id,
  startedAt: toDate(row.started_at),
  finishedAt: toDate(row.finished_at),
  error: row.error,
});

const stepToJson = (step: StepState): StepJson => ({
  name: step.name,
  position: step.position,
  state: step.state,
  attempts: step.attempts,
  compensation_attempts: step.compensationAttempts,
  may_have_taken_effect: step.mayHaveTakenEffect,
  deadline_at: step.deadlineAt?.toISOString() ?? null,
  deadline_kind: step.deadlineKind,
  last_message_id: step.lastMessageId,
  started_at: step.startedAt?.toISOString() ?? null,
  finished_at: step.finishedAt?.toISOString() ?? null,
  error: step.error,
});

const historyToJson = (history: readonly HistoryEntry[]): string =>
  JSON.stringify(
    history.map((entry, ord) => ({
      ord,
      direction: entry.direction,
      topic: entry.topic,
      message_id: entry.messageId,
      type: entry.type,
      step: entry.step,
      at: entry.at.toISOString(),
      hops: entry.hops ?? null,
    })),
  );

const sameTime = (left: Date | null, right: Date | null): boolean => (left === null || right === null ? left === right : left.getTime() === right.getTime());

const stepChanged = (before: StepState | undefined, after: StepState): boolean =>
  !before ||
  before.position !== after.position ||
  before.state !== after.state ||
  before.attempts !== after.attempts ||
  before.compensationAttempts !== after.compensationAttempts ||
  before.mayHaveTakenEffect !== after.mayHaveTakenEffect ||
  !sameTime(before.deadlineAt, after.deadlineAt) ||
  before.deadlineKind !== after.deadlineKind ||
  before.lastMessageId !== after.lastMessageId ||
  !sameTime(before.startedAt, after.startedAt) ||
  !sameTime(before.finishedAt, after.finishedAt) ||
  before.error !== after.error;

/** `failure` null must be SQL NULL, not the JSON value null. */
const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

function stateFromRow<D>(row: SagaRow): SagaState<D> {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    version: row.version,
    definitionVersion: row.definition_version,
    waitingFor: row.waiting_for,
    data: row.data as D,
    failure: row.failure,
    correlationId: row.correlation_id,
    searchKey: row.search_key,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    steps: row.steps.map(stepFromJson),
  };
}

/**
 * Saga instances, steps and history in Postgres. Every method runs on the caller's
 * EntityManager, so it joins the caller's transaction (with the inbox and outbox rows).
 */
export class SagaStore {
  private readonly outboxTable: string | null;
  private readonly unsentGraceMs: number;

  constructor(options: SagaStoreOptions = {}) {
    if (options.outboxTable !== undefined && !IDENTIFIER.test(options.outboxTable)) throw new Error(`invalid outbox table name ${options.outboxTable}`);
    this.outboxTable = options.outboxTable ?? null;
    this.unsentGraceMs = options.unsentGraceMs ?? 600_000;
  }

  /** The saga with its steps (one statement), or null. */
  async load<D = unknown>(manager: EntityManager, id: string): Promise<SagaState<D> | null> {
    if (!UUID.test(id)) return null;
    const rows = (await manager.query(LOAD_SAGA, [id])) as SagaRow[];
    const row = rows[0];
    return row ? stateFromRow<D>(row) : null;
  }

  /**
   * The sagas of `ids` as one literal statement (no parameters), for a unit of work's
   * preload: it travels with BEGIN. Null when none of the ids is a saga id. Its rows
   * become states with `fromLoadedRow`.
   */
  loadManySql(ids: readonly string[]): string | null {
    const valid = [...new Set(ids.filter((id) => UUID.test(id)))];
    if (valid.length === 0) return null;
    return LOAD_SAGA.replace('i.id = $1', `i.id IN (${valid.map((id) => `'${id.toLowerCase()}'`).join(', ')})`);
  }

  fromLoadedRow<D = unknown>(row: Record<string, unknown>): SagaState<D> {
    return stateFromRow<D>(row as unknown as SagaRow);
  }

  /**
   * `state` as loading it back after it was written would give: its data and failure
   * through JSON, its steps through their stored form, in stored order. What a process
   * remembers of a saga it wrote must be exactly what another would read.
   */
  asStored<D>(state: SagaState<D>): SagaState<D> {
    return {
      ...state,
      data: (state.data === undefined ? null : JSON.parse(JSON.stringify(state.data))) as D,
      failure: state.failure === null || state.failure === undefined ? null : (JSON.parse(JSON.stringify(state.failure)) as SagaState['failure']),
      steps: [...state.steps]
        .sort((left, right) => left.position - right.position || (left.name < right.name ? -1 : left.name > right.name ? 1 : 0))
        .map((step) => stepFromJson(stepToJson(step))),
    };
  }

  /**
   * Writes a new saga with all its steps and its first history rows; SagaAlreadyStarted when
   * the id is taken — deferred (see SagaWriteTarget), from the COMMIT, which it fails.
   */
  async insert<D>(target: SagaWriteTarget, state: SagaState<D>, history: readonly HistoryEntry[] = []): Promise<SagaState<D>> {
    const params = [
      state.id,
      state.type,
      state.status,
      state.version,
      JSON.stringify(state.data),
      jsonOrNull(state.failure),
      state.correlationId,
      state.searchKey,
      state.createdAt,
      state.updatedAt,
      JSON.stringify(state.steps.map(stepToJson)),
      historyToJson(history),
      state.definitionVersion,
    ];
    const defer = deferrerOf(target);
    if (defer) {
      const message = `saga ${state.id} already exists`;
      defer({
        sql: expectingOneRow(INSERT_SAGA, params.length + 1),
        params: [...params, message],
        explainFailure: (error) => (raised(error, message) ? new SagaAlreadyStarted(state.id) : undefined),
      });
      return state;
    }
    const rows = (await managerOf(target).query(INSERT_SAGA, params)) as { written: number }[];
    if (rows[0]?.written !== 1) throw new SagaAlreadyStarted(state.id);
    return state;
  }

  /**
   * Writes `next` over `previous` if nobody else did since `previous` was loaded (its version),
   * with only the steps that changed, and appends `history`. Returns `next` at its new version.
   * Throws SagaConcurrencyConflict (transient) when the version moved on.
   */
  async save<D>(target: SagaWriteTarget, previous: SagaState<D>, next: SagaState<D>, history: readonly HistoryEntry[] = []): Promise<SagaState<D>> {
    const changed = next.steps.filter((step) => stepChanged(previous.steps.find((before) => before.name === step.name), step));
    const params = [
      previous.id,
      previous.version,
      next.status,
      JSON.stringify(next.data),
      jsonOrNull(next.failure),
      next.searchKey,
      next.updatedAt,
      JSON.stringify(changed.map(stepToJson)),
      historyToJson(history),
    ];
    const defer = deferrerOf(target);
    if (defer) {
      const message = `saga ${previous.id} changed since version ${previous.version} was loaded`;
      defer({
        sql: expectingOneRow(SAVE_SAGA, params.length + 1),
        params: [...params, message],
        explainFailure: (error) => (raised(error, message) ? new SagaConcurrencyConflict(previous.id, previous.version) : undefined),
      });
    } else {
      const rows = (await managerOf(target).query(SAVE_SAGA, params)) as { written: number }[];
      if (rows[0]?.written !== 1) throw new SagaConcurrencyConflict(previous.id, previous.version);
    }
    return { ...next, version: previous.version + 1 };
  }

  /** Records messages that changed nothing (a late duplicate reply): no version bump, the saga is not touched. */
  async appendHistory(target: SagaWriteTarget, sagaId: string, history: readonly HistoryEntry[]): Promise<void> {
    if (history.length === 0) return;
    const sql = `WITH saga AS (SELECT $1::uuid AS id) ${withParameters(INSERT_HISTORY, 0, 2)}`;
    const params = [sagaId, historyToJson(history)];
    const defer = deferrerOf(target);
    if (defer) defer({ sql, params });
    else await managerOf(target).query(sql, params);
  }

  /**
   * Steps whose deadline passed by `now`, earliest first. With an outbox table, a reply
   * deadline is moved by the time its command waited to be published (see SagaStoreOptions);
   * as that only ever moves it later, the scan still starts from the `deadline_at` index.
   */
  /**
   * The earliest deadline of any step, or null when none waits. A lower bound of when the
   * next one is due (a reply deadline may fall due later, see dueDeadlines): a sweeper
   * with nothing due can sleep until then instead of polling.
   */
  async nextDeadline(manager: EntityManager, deployment?: Deployment): Promise<Date | null> {
    const [row] = (
      deployment
        ? await manager.query(`SELECT min(deadline_at) AS next FROM saga_steps s WHERE deadline_at IS NOT NULL AND ${DEPLOYED_ONLY(1, 2)}`, [
            deployment.types,
            deployment.deployed,
          ])
        : await manager.query(`SELECT min(deadline_at) AS next FROM saga_steps WHERE deadline_at IS NOT NULL`)
    ) as { next: Date | null }[];
    return row?.next ?? null;
  }

  /** `deployment`: leave alone the deadlines of sagas whose definition version is not deployed (see DEPLOYED_ONLY). */
  async dueDeadlines(manager: EntityManager, now: Date, limit: number, deployment?: Deployment): Promise<DueDeadline[]> {
    const deployed = deployment ? `AND ${DEPLOYED_ONLY(3, 4)}` : '';
    const deploymentParameters = deployment ? [deployment.types, deployment.deployed] : [];
    const rows = (
      this.outboxTable === null
        ? await manager.query(
            `SELECT saga_id, name, deadline_at, deadline_at AS due_at FROM saga_steps s
              WHERE deadline_at IS NOT NULL AND deadline_at <= $1 ${deployed}
              ORDER BY deadline_at
              LIMIT $2`,
            [now, limit, ...deploymentParameters],
          )
        : await manager.query(
            `SELECT s.saga_id, s.name, s.deadline_at, d.due_at
               FROM saga_steps s
               LEFT JOIN LATERAL (
                 SELECT o.created_at, o.sent_at FROM ${this.outboxTable} o
                  WHERE s.deadline_kind = 'reply' AND o.message_id = s.last_message_id
                  LIMIT 1) o ON true
               CROSS JOIN LATERAL (
                 SELECT CASE
                   WHEN o.created_at IS NULL THEN s.deadline_at                                   -- not a reply wait, or gone from the outbox
                   WHEN o.sent_at IS NULL THEN s.deadline_at + make_interval(secs => $3::float8)  -- not sent yet
                   ELSE s.deadline_at + GREATEST(o.sent_at - o.created_at, interval '0')          -- its clock started at the ack
                 END AS due_at) d
              WHERE s.deadline_at IS NOT NULL AND s.deadline_at <= $1 AND d.due_at <= $1 ${deployment ? `AND ${DEPLOYED_ONLY(4, 5)}` : ''}
              ORDER BY d.due_at
              LIMIT $2`,
            [now, limit, this.unsentGraceMs / 1000, ...deploymentParameters],
          )
    ) as { saga_id: string; name: string; deadline_at: Date; due_at: Date }[];
    return rows.map((row) => ({ sagaId: row.saga_id, step: row.name, deadlineAt: row.deadline_at, dueAt: row.due_at }));
  }

  /**
   * After an outage of the plumbing (broker, network, database) that began at `since` and
   * lasted `outageMs`, gives every step waiting for a reply more time: the participant
   * could not receive its command or send its reply meanwhile. A command out before the
   * outage gets `outageMs + recoveryMs`; one first sent after `since` (or not yet) only
   * `recoveryMs`: its clock started when it reached the broker, but the participant still
   * has to recover (rejoin its group, flush its outbox). Returns how many were moved.
   */
  async postponeReplyDeadlines(manager: EntityManager, postponement: { outageMs: number; since: Date; recoveryMs?: number }): Promise<number> {
    const recoverySeconds = (postponement.recoveryMs ?? 0) / 1000;
    const outageSeconds = postponement.outageMs / 1000;
    const caughtByOutage =
      this.outboxTable === null
        ? 'true'
        : `NOT EXISTS (SELECT 1 FROM ${this.outboxTable} o WHERE o.message_id = s.last_message_id AND (o.sent_at IS NULL OR o.sent_at >= $3))`;
    // The sagas moved get a new version: a copy of one remembered elsewhere (a unit of
    // work's memory, a concurrent handler) fails its version check instead of writing its
    // old deadline back.
    const rows = (await manager.query(
      `WITH moved AS (
         UPDATE saga_steps s
            SET deadline_at = s.deadline_at + make_interval(secs => $1::float8 + CASE WHEN ${caughtByOutage} THEN $2::float8 ELSE 0 END)
          WHERE s.deadline_at IS NOT NULL AND s.deadline_kind = 'reply'
          RETURNING s.saga_id),
       bumped AS (UPDATE saga_instances i SET version = i.version + 1 WHERE i.id IN (SELECT saga_id FROM moved))
       SELECT count(*)::int AS moved FROM moved`,
      this.outboxTable === null ? [recoverySeconds, outageSeconds] : [recoverySeconds, outageSeconds, postponement.since],
    )) as { moved: number }[];
    return rows[0]?.moved ?? 0;
  }

  // ---- keyed exclusion (docs/adr/0008) ----

  /**
   * Claims `key` for `sagaId`, or finds who holds it: returns the holder (`sagaId` itself
   * when the key was free). The upsert locks the key's row until the caller's transaction
   * ends, so a holder's release (which locks the row first) and this start are serialized:
   * a waiter enqueued here is seen by the release, whichever replica runs either.
   */
  async claimExclusion(manager: EntityManager, key: string, sagaId: string, now: Date): Promise<string> {
    const [row] = (await manager.query(
      `INSERT INTO saga_exclusion_holders (exclusion_key, saga_id, since) VALUES ($1, $2, $3)
       ON CONFLICT (exclusion_key) DO UPDATE SET exclusion_key = EXCLUDED.exclusion_key
       RETURNING saga_id`,
      [key, sagaId, now],
    )) as { saga_id: string }[];
    if (!row) throw new Error(`claiming exclusion key ${key} returned nothing`);
    return row.saga_id;
  }

  /**
   * Claims `key` for `sagaId` with the COMMIT, assuming it is free: the deferred insert
   * fails the commit (SQLSTATE 40001) when another saga holds it. For a speculative
   * transaction only (see SagaTransaction.speculative), which then runs again the usual
   * way (`claimExclusion`). Returns `sagaId`, the holder it assumes.
   */
  claimFreeExclusion(target: { defer(write: DeferredSagaWrite): void }, key: string, sagaId: string, now: Date): string {
    const message = `exclusion key ${key} is held by another saga`;
    target.defer({
      sql: `WITH claimed AS (
              INSERT INTO saga_exclusion_holders (exclusion_key, saga_id, since) VALUES ($1, $2, $3)
              ON CONFLICT (exclusion_key) DO NOTHING RETURNING saga_id)
            SELECT saga_expect_one_row(count(*), $4) FROM claimed`,
      params: [key, sagaId, now, message],
      explainFailure: (error) => (raised(error, message) ? new ExclusionGuessFailed(message) : undefined),
    });
    return sagaId;
  }

  /**
   * Frees `key`, which `sagaId` holds, with the COMMIT, assuming no saga waits for it:
   * fails the commit (SQLSTATE 40001) when one does, or when `sagaId` does not hold it. For
   * a speculative transaction only; the usual way is `releaseExclusion`, which hands the
   * key over. The key's row is locked by a statement of its own first, so that a start
   * enqueueing a waiter right now is seen by the next statement (its own snapshot): the
   * same order as `releaseExclusion`.
   */
  releaseUnwantedExclusion(target: { defer(write: DeferredSagaWrite): void }, key: string, sagaId: string): void {
    const message = `exclusion key ${key} is not held by saga ${sagaId} alone`;
    const explainFailure = (error: unknown): Error | undefined => (raised(error, message) ? new ExclusionGuessFailed(message) : undefined);
    target.defer({
      sql: `SELECT saga_expect_one_row(count(*), $3) FROM (SELECT 1 FROM saga_exclusion_holders WHERE exclusion_key = $1 AND saga_id = $2 FOR UPDATE) held`,
      params: [key, sagaId, message],
      explainFailure,
    });
    target.defer({
      sql: `WITH freed AS (
              DELETE FROM saga_exclusion_holders
               WHERE exclusion_key = $1 AND saga_id = $2 AND NOT EXISTS (SELECT 1 FROM saga_exclusion_waiters WHERE exclusion_key = $1)
              RETURNING saga_id)
            SELECT saga_expect_one_row(count(*), $3) FROM freed`,
      params: [key, sagaId, message],
      explainFailure,
    });
  }

  /** Queues `sagaId` (already inserted, in this transaction) behind the holder of `key`. */
  async enqueueWaiter(manager: EntityManager, key: string, sagaId: string, causeId: string | null): Promise<void> {
    await manager.query(`INSERT INTO saga_exclusion_waiters (saga_id, exclusion_key, cause_id) VALUES ($1, $2, $3)`, [sagaId, key, causeId]);
  }

  /**
   * `sagaId` ended: gives up the key it holds to the first saga waiting for it (returned, to
   * begin in this same transaction), or frees the key; and leaves any queue it waited in.
   * The key's row is locked first, so a start that is enqueueing a waiter right now is
   * either seen (it committed first) or sees the key free or handed over (it waits for us).
   */
  async releaseExclusion(manager: EntityManager, sagaId: string, now: Date): Promise<{ sagaId: string; causeId: string | null } | null> {
    const held = (await manager.query(`SELECT exclusion_key FROM saga_exclusion_holders WHERE saga_id = $1 FOR UPDATE`, [sagaId])) as { exclusion_key: string }[];
    const key = held[0]?.exclusion_key;
    if (key === undefined) {
      await manager.query(`DELETE FROM saga_exclusion_waiters WHERE saga_id = $1`, [sagaId]);
      return null;
    }
    const rows = (await manager.query(
      `WITH next AS (
         DELETE FROM saga_exclusion_waiters
          WHERE saga_id = (SELECT saga_id FROM saga_exclusion_waiters WHERE exclusion_key = $1 ORDER BY seq LIMIT 1)
         RETURNING saga_id, cause_id),
       handed AS (
         UPDATE saga_exclusion_holders h SET saga_id = next.saga_id, since = $3 FROM next
          WHERE h.exclusion_key = $1 AND h.saga_id = $2 RETURNING h.saga_id),
       freed AS (
         DELETE FROM saga_exclusion_holders WHERE exclusion_key = $1 AND saga_id = $2 AND NOT EXISTS (SELECT 1 FROM next) RETURNING saga_id)
       SELECT next.saga_id, next.cause_id, (SELECT count(*) FROM handed) + (SELECT count(*) FROM freed) AS released FROM next`,
      [key, sagaId, now],
    )) as { saga_id: string; cause_id: string | null }[];
    const next = rows[0];
    return next ? { sagaId: next.saga_id, causeId: next.cause_id } : null;
  }

  // ---- parked replies (docs/adr/0007) ----

  /** Keeps a reply for a saga whose definition version is not deployed, in arrival order. */
  async parkReply(manager: EntityManager, envelope: Envelope, reason: string, now: Date): Promise<void> {
    await manager.query(`INSERT INTO saga_parked_replies (saga_id, envelope, reason, parked_at) VALUES ($1, $2::jsonb, $3, $4)`, [
      envelope.sagaId,
      JSON.stringify(envelope),
      reason.slice(0, 2000),
      now,
    ]);
  }

  /**
   * The oldest parked reply of a saga whose definition version is now deployed, taken
   * (deleted) in the caller's transaction, or null. Skips rows another replica is taking.
   */
  async takeParkedReply(manager: EntityManager, deployed: readonly string[]): Promise<ParkedReply | null> {
    const rows = (await manager.query(
      `WITH taken AS (
         DELETE FROM saga_parked_replies WHERE id = (
           SELECT p.id FROM saga_parked_replies p JOIN saga_instances i ON i.id = p.saga_id
            WHERE (i.type || '@' || i.definition_version) = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM saga_parked_replies e WHERE e.saga_id = p.saga_id AND e.id < p.id)
            ORDER BY p.id LIMIT 1 FOR UPDATE OF p SKIP LOCKED)
         RETURNING id, saga_id, envelope)
       SELECT id, saga_id, envelope FROM taken`,
      [deployed],
    )) as { id: string; saga_id: string; envelope: Envelope }[];
    const row = rows[0];
    return row ? { id: row.id, sagaId: row.saga_id, envelope: row.envelope } : null;
  }

  /** The saga whose parked reply `takeParkedReply` would take next (without taking it), or null. */
  async nextParkedSaga(manager: EntityManager, deployed: readonly string[]): Promise<string | null> {
    const rows = (await manager.query(
      `SELECT p.saga_id FROM saga_parked_replies p JOIN saga_instances i ON i.id = p.saga_id
        WHERE (i.type || '@' || i.definition_version) = ANY($1::text[]) ORDER BY p.id LIMIT 1`,
      [deployed],
    )) as { saga_id: string }[];
    return rows[0]?.saga_id ?? null;
  }

  /** The saga's messages in order of arrival (at most `limit`, the first ones). */
  async history(manager: EntityManager, sagaId: string, limit = 1000): Promise<StoredHistoryEntry[]> {
    if (!UUID.test(sagaId)) return [];
    const rows = (await manager.query(
      `SELECT id, direction, topic, message_id, type, step, at, hops FROM saga_history WHERE saga_id = $1 ORDER BY id LIMIT $2`,
      [sagaId, limit],
    )) as { id: string; direction: 'in' | 'out'; topic: string | null; message_id: string | null; type: string; step: string | null; at: Date; hops: HistoryHops | null }[];
    return rows.map((row) => ({ id: row.id, direction: row.direction, topic: row.topic, messageId: row.message_id, type: row.type, step: row.step, at: row.at, hops: row.hops }));
  }
}
