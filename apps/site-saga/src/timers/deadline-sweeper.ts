import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { classifyFailure, DATABASE_URL, describeError, LOGGER, UnitOfWork } from '@sitesaga/messaging';
import { type DueDeadline, SagaConcurrencyConflict, SagaEngine } from '@sitesaga/saga';
import { Client } from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { SagaChanges } from '../sagas/saga-changes';
import { PlumbingMonitor } from './plumbing-monitor';

/** One sweeper per orchestrator database fires deadlines, so an outage is made up for once. */
const SWEEPER_LOCK = 7_321_002;
/**
 * Given to every waiting reply after an outage, on top of the outage's length: when the
 * broker returns, every service's consumer must rejoin its group (a session timeout, then
 * kafkajs' own backoff) and its relay flush what piled up before a participant's reply
 * can arrive. Plumbing time: not scaled with the sagas' timeouts.
 */
const RECOVERY_MARGIN_MS = 30_000;
/**
 * The longest a sweeper sleeps when nothing is due: it sleeps until the earliest deadline
 * (or this long), and a saga change this process commits cuts the sleep short. Polling
 * every SAGA_TIMER_INTERVAL_MS while idle cost a query four times a second; every 2 s, an
 * idle round's five statements were a third of an idle orchestrator's CPU. It bounds how
 * late a deadline another replica set, or a standby's takeover, is noticed.
 */
const IDLE_SLEEP_MS = 5_000;
/** A saga that could not even be set aside is skipped by this process; bounded. */
const MAX_SKIPPED = 10_000;
/** Parked replies (of a definition version deployed again) handled per round, at most. */
const PARKED_PER_ROUND = 200;

/**
 * No saga waits forever: every waiting step has a persisted deadline, and this loop fires
 * the ones that passed (re-send after backoff, re-send after a missing reply, or give up
 * and compensate). Each deadline is handled in its own transaction; the saga's version
 * lets exactly one transaction act on it.
 *
 * Deadlines measure the participant, not the plumbing:
 * - a reply deadline counts from when its command reached the broker (the store reads the
 *   outbox's `sent_at`), so a command stuck in the outbox is not due;
 * - while the broker does not answer or the consumer does not fetch (PlumbingMonitor), or the database fails the sweep, no
 *   deadline fires; when both work again, every reply deadline whose command was out
 *   before the outage is moved by the outage's length, once.
 * One replica sweeps at a time (a session advisory lock on a connection of its own), so
 * the move is not made twice and replicas do not race for the same rows.
 *
 * One bad row never stops a sweep: a saga that cannot be run (its type or step unknown,
 * its data breaking its contract) is set aside (FAILED, `SagaNeedsAttention`) and the
 * sweep goes on; a transient error (the database went away) ends the round.
 */
@Injectable()
export class DeadlineSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private running = false;
  private loop: Promise<void> | null = null;
  private session: Client | null = null;
  private leader = false;
  /** While the plumbing is out: when it last worked. */
  private outageSince: number | null = null;
  private lastDatabaseOkAt = Date.now();
  private readonly skipped = new Set<string>();
  /** Ends the current sleep early (a saga change was committed here); null when not sleeping. */
  private wakeSleep: (() => void) | null = null;
  private stopListening: (() => void) | null = null;

  constructor(
    private readonly engine: SagaEngine,
    private readonly unitOfWork: UnitOfWork,
    private readonly changes: SagaChanges,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject('SAGA_TIMER_INTERVAL_MS') private readonly intervalMs: number,
    private readonly plumbing: PlumbingMonitor,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.plumbing.start();
    this.stopListening = this.changes.onCommitted(() => this.wakeSleep?.());
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    this.stopListening?.();
    this.wakeSleep?.();
    await this.loop;
    await this.plumbing.stop();
    await this.closeSession();
  }

  /** True while this replica holds the sweeper lock. */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * One round: become the sweeper if nobody is, wait out an outage, make up for one that
   * ended, then fire what is due. Throws a transient error when the database fails.
   */
  async round(): Promise<number> {
    if (!this.leader) {
      await this.tryToLead();
      if (!this.leader) return 0;
    }
    const now = Date.now();
    if (!this.plumbing.isUp(now)) {
      if (this.outageSince === null) {
        this.outageSince = Math.min(this.plumbing.lastWorkingAt, this.lastDatabaseOkAt);
        this.logger.warn({ since: new Date(this.outageSince) }, 'the broker does not answer or the consumer does not fetch: deadlines are paused');
      }
      return 0;
    }
    if (this.outageSince !== null) {
      const since = this.outageSince;
      const outageMs = now - since;
      const moved = await this.engine.postponeReplyDeadlines(this.dataSource.manager, { outageMs, since: new Date(since), recoveryMs: RECOVERY_MARGIN_MS });
      this.outageSince = null;
      this.logger.warn({ outageMs, moved }, 'plumbing back: reply deadlines moved by the outage');
    }
    const fired = (await this.handleParked()) + (await this.sweep());
    this.lastDatabaseOkAt = Date.now();
    return fired;
  }

  /**
   * Replies parked while their saga's definition version was not deployed (docs/adr/0007),
   * handled oldest first now that it is, one transaction each. One that cannot be applied
   * sets its saga aside (FAILED), after which its parked replies are only recorded.
   */
  async handleParked(): Promise<number> {
    let handled = 0;
    while (handled < PARKED_PER_ROUND) {
      try {
        const outcome = await this.unitOfWork.run(null, (tx) => this.engine.handleParked(tx));
        if (outcome.status !== 'done' || outcome.result === null) return handled;
        handled += 1;
        this.changes.committed(outcome.result);
      } catch (error) {
        if (error instanceof SagaConcurrencyConflict) continue; // a reply moved it meanwhile: try again
        if (classifyFailure(error) === 'transient') throw error;
        const sagaId = await this.engine.nextParkedSaga(this.dataSource.manager);
        if (!sagaId) throw error;
        await this.setAside({ sagaId, step: '(parked reply)', deadlineAt: new Date(0), dueAt: new Date(0) }, error);
        if (this.skipped.has(`${sagaId}/(parked reply)`)) return handled; // could not even set it aside: next round
      }
    }
    return handled;
  }

  /**
   * Fires every deadline due by the last moment the plumbing was seen working (a second or
   * so ago): a deadline that fell due after it might have been met but for an outage not
   * yet noticed. Returns how many changed a saga.
   */
  async sweep(): Promise<number> {
    const unconfirmedMs = Math.max(0, Date.now() - this.plumbing.lastWorkingAt);
    const due = await this.engine.dueDeadlines(this.dataSource.manager, 200, new Date(this.engine.now().getTime() - unconfirmedMs));
    let fired = 0;
    for (const deadline of due) {
      if (this.skipped.has(keyOf(deadline))) continue;
      try {
        const outcome = await this.unitOfWork.run(null, (tx) => this.engine.fireDeadline(tx, deadline.sagaId, deadline.step, undefined, deadline.deadlineAt));
        if (outcome.status === 'done' && outcome.result) {
          fired += 1;
          this.changes.committed(deadline.sagaId);
        }
      } catch (error) {
        if (error instanceof SagaConcurrencyConflict) continue; // a reply moved it meanwhile
        if (classifyFailure(error) === 'transient') throw error; // the database is going away: end the round
        await this.setAside(deadline, error);
      }
    }
    return fired;
  }

  private async setAside(deadline: DueDeadline, error: unknown): Promise<void> {
    const reason = describeError(error);
    this.logger.error({ err: error, sagaId: deadline.sagaId, step: deadline.step }, 'deadline cannot be handled: saga set aside for a person');
    try {
      await this.unitOfWork.run(null, (tx) => this.engine.quarantine(tx, deadline.sagaId, deadline.step, reason));
      this.changes.committed(deadline.sagaId);
    } catch (failure) {
      if (classifyFailure(failure) === 'transient' || failure instanceof SagaConcurrencyConflict) throw failure;
      // Not even that: skip it here rather than stop every later deadline behind it.
      this.logger.error({ err: failure, sagaId: deadline.sagaId, step: deadline.step }, 'could not set the saga aside; skipping its deadline');
      if (this.skipped.size < MAX_SKIPPED) this.skipped.add(keyOf(deadline));
    }
  }

  /**
   * Rounds, and sleeps between them. A sleep that a commit of this process cut short is
   * followed by a peek, not a round: the commit may have set a deadline sooner than the one
   * slept for, so only the earliest deadline is read (one statement, not a round's three
   * or more), and a round follows once one is due. Under load a commit lands every few
   * milliseconds; a round after each (at most one per SAGA_TIMER_INTERVAL_MS) was a quarter
   * of the orchestrator's statements per saga. A reply parked for a definition version this
   * process does not know is not its to handle, whatever it commits: the timed rounds (at
   * most IDLE_SLEEP_MS apart) look for parked replies a deploy made handleable.
   */
  private async run(): Promise<void> {
    let peek = false;
    while (this.running) {
      let wait = this.intervalMs;
      try {
        if (peek && this.leader && this.outageSince === null) {
          wait = await this.idleWait();
        } else {
          const fired = await this.round();
          if (fired === 0) wait = await this.idleWait();
        }
      } catch (error) {
        const kind = classifyFailure(error);
        if (kind === 'transient') {
          // The database went away (the lock's session with it, often): made up for by
          // whichever replica leads when it is back.
          this.plumbing.reportDatabaseFailure();
          this.outageSince ??= this.lastDatabaseOkAt;
        }
        this.logger.warn({ err: error, kind }, 'deadline sweep failed; will retry');
      }
      const cutShort = await this.sleep(wait);
      // Nothing due within the interval when it fell asleep, and woken by a commit: peek.
      peek = cutShort && wait > this.intervalMs;
    }
  }

  /**
   * How long to sleep after a round that fired nothing: until the earliest deadline, at
   * least SAGA_TIMER_INTERVAL_MS and at most IDLE_SLEEP_MS (while another replica sweeps,
   * or the plumbing is out, IDLE_SLEEP_MS bounds how late this one notices).
   */
  private async idleWait(): Promise<number> {
    if (!this.leader || this.outageSince !== null) return IDLE_SLEEP_MS;
    const next = await this.engine.nextDeadline(this.dataSource.manager);
    if (!next) return IDLE_SLEEP_MS;
    return Math.min(IDLE_SLEEP_MS, Math.max(this.intervalMs, next.getTime() - Date.now()));
  }

  /**
   * Sleeps `ms`, or less: a commit here wakes it, though never before SAGA_TIMER_INTERVAL_MS.
   * True when a commit cut it short.
   */
  private sleep(ms: number): Promise<boolean> {
    if (!this.running) return Promise.resolve(false);
    const started = Date.now();
    let cutShort = false;
    return new Promise<boolean>((resolve) => {
      let timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve(cutShort);
      }
      this.wakeSleep = () => {
        this.wakeSleep = null;
        if (!this.running) return done();
        cutShort = true;
        clearTimeout(timer);
        timer = setTimeout(done, Math.max(0, started + this.intervalMs - Date.now()));
      };
    }).finally(() => (this.wakeSleep = null));
  }

  private async tryToLead(): Promise<void> {
    let session = this.session;
    if (!session) {
      const created = new Client({ connectionString: this.databaseUrl, application_name: 'deadline-sweeper' });
      session = created;
      // The lock lives as long as this session: losing it (database restart, network) loses
      // the lock, and the next round takes it again on a new session.
      const lost = (error?: Error) => {
        if (this.session !== created) return;
        if (error) this.logger.warn({ err: error }, 'deadline sweeper lost its database session');
        this.session = null;
        this.leader = false;
        created.end().catch(() => undefined);
      };
      created.on('error', lost);
      created.on('end', () => lost());
      this.session = created;
      try {
        await created.connect();
      } catch (error) {
        lost();
        throw error;
      }
    }
    const result = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SWEEPER_LOCK]);
    const wasLeader = this.leader;
    this.leader = result.rows[0]?.locked === true;
    this.lastDatabaseOkAt = Date.now();
    if (this.leader && !wasLeader) this.logger.info('this replica sweeps the saga deadlines');
    // Another replica sweeps: an outage this one saw is the leader's to make up for.
    if (!this.leader) this.outageSince = null;
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    this.leader = false;
    if (session) await session.end().catch(() => undefined);
  }
}

const keyOf = (deadline: DueDeadline): string => `${deadline.sagaId}/${deadline.step}`;
