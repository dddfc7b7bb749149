import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { ParkedMessages, SagaPage, SagaStats, SagaSummary } from '@sitesaga/http-contracts';
import { parkedDeadLetters, parkedOutboxMessages } from '@sitesaga/messaging';
import { listSagas, SagaEngine, type SagaListing, sagasById, sagasChangedSince, sagaStatistics } from '@sitesaga/saga';
import type { DataSource } from 'typeorm';
import type { ListQuery } from './admin-request-validation';
import { HostSagaEngine } from './host-saga-engine';

export type { ParkedMessages, SagaPage, SagaStats } from '@sitesaga/http-contracts';

/** The saga data fields a summary shows. */
const SUMMARY_FIELDS = ['siteId'];

/** Whether this orchestrator runs the definition version a saga started on. */
type VersionCheck = (listing: Pick<SagaListing, 'type' | 'definitionVersion'>) => boolean;

const summaryOfListing = (listing: SagaListing, versionDeployed: VersionCheck): SagaSummary => ({
  id: listing.id,
  type: listing.type,
  status: listing.status,
  version: listing.version,
  siteName: listing.searchKey,
  siteId: listing.dataFields.siteId ?? null,
  createdAt: listing.createdAt.toISOString(),
  updatedAt: listing.updatedAt.toISOString(),
  currentStep: listing.waitingOn.length > 0 ? listing.waitingOn.join(', ') : null,
  ...(listing.failedStep !== null ? { failedStep: listing.failedStep } : {}),
  definitionVersion: listing.definitionVersion,
  versionDeployed: versionDeployed(listing),
  waitingFor: listing.waitingFor,
});

/** A changed saga as the stream's poll sees it. */
export interface ChangedSaga {
  readonly summary: SagaSummary;
  readonly updatedAt: Date;
}

/** Latencies are taken over the steps of this many newest sagas (≈ 10k steps for create-site). */
export const STATS_WINDOW = 2000;

/** Stats are reused this long: many open pages cost one set of queries (the page asks 1.5 s after a change). */
const STATS_REUSE_MS = 1_000;

/** The admin's reads: libs/saga's query API (the engine owns its tables), shaped as the admin API answers. */
@Injectable()
export class SagaQueries {
  private cachedStats: { at: number; stats: Promise<SagaStats> } | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly host: HostSagaEngine,
  ) {}

  /** As SagaOperations: a type this replica does not run at all counts as deployed (it is set aside, not held). */
  private readonly versionDeployed: VersionCheck = (listing) => {
    const engine = this.host.find();
    if (!engine) return true;
    return engine.versionsOf(listing.type).length === 0 || engine.isDeployed(listing);
  };

  private changedOf(listing: SagaListing): ChangedSaga {
    return { summary: summaryOfListing(listing, this.versionDeployed), updatedAt: listing.updatedAt };
  }

  recentStats(now = Date.now()): Promise<SagaStats> {
    if (this.cachedStats && now - this.cachedStats.at < STATS_REUSE_MS) return this.cachedStats.stats;
    const stats = this.stats(new Date(now));
    this.cachedStats = { at: now, stats };
    stats.catch(() => {
      if (this.cachedStats?.stats === stats) this.cachedStats = null; // a failure is not reused
    });
    return stats;
  }

  /** The oldest 100 of each: the full messages stay in dead_letters and outbox_messages. */
  async parked(): Promise<ParkedMessages> {
    const [deadLetters, outbox] = await Promise.all([parkedDeadLetters(this.dataSource, 100), parkedOutboxMessages(this.dataSource, 100)]);
    return {
      deadLetters: deadLetters.map((letter) => ({ ...letter, createdAt: letter.createdAt.toISOString() })),
      outbox: outbox.map((message) => ({ ...message, parkedAt: message.parkedAt.toISOString() })),
    };
  }

  /** Newest first, (created_at, id) keyset pagination. */
  async list(query: ListQuery): Promise<SagaPage> {
    const page = await listSagas(this.dataSource.manager, {
      ...(query.status ? { status: query.status } : {}),
      ...(query.type ? { type: query.type } : {}),
      ...(query.siteName ? { searchKey: query.siteName } : {}),
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
      dataFields: SUMMARY_FIELDS,
    });
    return { items: page.items.map((listing) => summaryOfListing(listing, this.versionDeployed)), nextCursor: page.nextCursor };
  }

  async summaries(ids: readonly string[]): Promise<ChangedSaga[]> {
    return (await sagasById(this.dataSource.manager, ids, SUMMARY_FIELDS)).map((listing) => this.changedOf(listing));
  }

  /** Sagas changed after `since`, oldest change first; run only while a stream client listens. */
  async changedSince(since: Date, limit: number): Promise<ChangedSaga[]> {
    return (await sagasChangedSince(this.dataSource.manager, since, limit, SUMMARY_FIELDS)).map((listing) => this.changedOf(listing));
  }

  async stats(now = new Date()): Promise<SagaStats> {
    return { ...(await sagaStatistics(this.dataSource.manager, STATS_WINDOW)), generatedAt: now.toISOString() };
  }
}
