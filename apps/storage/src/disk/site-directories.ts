import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { BusinessRejection, LOGGER } from '@sitesaga/messaging';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, opendir, readdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { isLeftover, SITE_LAYOUT, siteDirectoryFor, STALE_STAGING_MS, stagingDirectoryFor } from '../domain/site-directory';
import { STORAGE_CONFIG, type StorageConfig } from '../storage-config';

import type { InventoryItem } from '@sitesaga/contracts';

const SITE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const codeOf = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;

/**
 * The only code that touches the disk. Every effect is atomic and repeatable:
 * - ensure builds the tree under a `.tmp-` name and renames it into place, so a site
 *   directory is either absent or complete; an existing one is a success;
 * - remove renames the tree to a `.trash-` name first, then deletes it, so a half-deleted
 *   tree never looks provisioned; a missing one is a success;
 * - leftovers of a crash in either are swept at boot and then every minute, so a replica
 *   killed mid-build leaves nothing behind for long even when it never comes back (its
 *   siblings share the root and sweep it).
 */
@Injectable()
export class SiteDirectories implements OnModuleInit, OnModuleDestroy {
  private sweeper?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.sweep();
    this.sweeper = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not sweep the storage root'))
        .finally(() => (this.sweeping = undefined));
    }, STALE_STAGING_MS).unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweeper);
    await this.sweeping;
  }

  /** Pure: the site's directory, refused when it would not be a direct child of the root. */
  directoryOf(siteId: string): string {
    return siteDirectoryFor(this.config.root, siteId);
  }

  async ensure(siteId: string): Promise<string> {
    const directory = this.directoryOf(siteId);
    if (await this.isProvisioned(directory)) return directory;
    const staging = stagingDirectoryFor(this.config.root, siteId, 'tmp', randomBytes(6).toString('hex'));
    try {
      await mkdir(staging, { mode: 0o750 });
      for (const folder of SITE_LAYOUT) await mkdir(path.join(staging, folder), { recursive: true, mode: 0o750 });
      try {
        await rename(staging, directory);
      } catch (error) {
        // Provisioned meanwhile (a redelivery racing a sibling replica): the same success.
        if ((codeOf(error) === 'ENOTEMPTY' || codeOf(error) === 'EEXIST') && (await this.isProvisioned(directory))) return directory;
        throw error;
      }
      await this.syncRoot();
      return directory;
    } finally {
      await rm(staging, { recursive: true, force: true }); // gone after a successful rename
    }
  }

  async remove(siteId: string): Promise<void> {
    const directory = this.directoryOf(siteId);
    const trash = stagingDirectoryFor(this.config.root, siteId, 'trash', randomBytes(6).toString('hex'));
    try {
      await rename(directory, trash); // a symlink planted at the site's name moves as a link; its target is untouched
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return;
      throw error;
    }
    await this.syncRoot();
    await rm(trash, { recursive: true, force: true });
  }

  /**
   * One page of the root's entries (dot-named staging leftovers excluded), in name order
   * after `after`: for the inventory. The root is read as a stream of names (no stat per
   * entry) and only the page's worth is kept: memory is bounded by the page, time by the
   * number of entries, however large the root.
   */
  async list(after: string | null, limit: number): Promise<{ items: InventoryItem[]; nextCursor: string | null }> {
    const page: string[] = []; // sorted, at most limit + 1 names
    const directory = await opendir(this.config.root, { bufferSize: 256 });
    for await (const entry of directory) {
      // Control characters cannot travel in a message: such a name is shown (and paged) with `?` for them.
      const name = entry.name.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 255);
      if (name.startsWith('.') || (after !== null && name <= after)) continue;
      if (page.length > limit && name >= page[page.length - 1]!) continue;
      let index = page.length;
      while (index > 0 && page[index - 1]! > name) index -= 1;
      page.splice(index, 0, name);
      if (page.length > limit + 1) page.pop();
    }
    const items = page.slice(0, limit).map((name) => ({
      name,
      siteId: SITE_ID.test(name) ? name.toLowerCase() : null,
      status: null,
      sagaId: null,
    }));
    return { items, nextCursor: page.length > limit ? (page[limit - 1] ?? null) : null };
  }

  /** The site's directory as an inventory page: one item when something is at its path, none otherwise. */
  async listOne(siteId: string): Promise<{ items: InventoryItem[]; nextCursor: null }> {
    try {
      await lstat(this.directoryOf(siteId));
      return { items: [{ name: siteId.toLowerCase(), siteId: siteId.toLowerCase(), status: null, sagaId: null }], nextCursor: null };
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return { items: [], nextCursor: null };
      throw error;
    }
  }

  /** Removes the leftovers of interrupted builds and deletions; returns their names. */
  async sweep(nowMs: number = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const entry of await readdir(this.config.root, { withFileTypes: true })) {
      if (!entry.name.startsWith('.')) continue;
      const full = path.join(this.config.root, entry.name);
      try {
        const stats = await lstat(full);
        if (!isLeftover(entry.name, stats.mtimeMs, nowMs)) continue;
        await rm(full, { recursive: true, force: true });
        removed.push(entry.name);
      } catch (error) {
        if (codeOf(error) !== 'ENOENT') this.logger.warn({ err: error, entry: entry.name }, 'could not sweep a storage leftover');
      }
    }
    if (removed.length > 0) this.logger.info({ removed }, 'swept storage leftovers');
    return removed;
  }

  /**
   * A real directory at the site's path. Anything else there (a file, a symlink that could
   * point outside the root) is refused rather than taken for a provisioned site.
   */
  private async isProvisioned(directory: string): Promise<boolean> {
    try {
      const stats = await lstat(directory);
      if (stats.isDirectory()) return true;
      throw new BusinessRejection(`${path.basename(directory)} exists in the storage root and is not a directory`);
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return false;
      throw error;
    }
  }

  /** Makes a rename durable before the transaction that reports it commits. */
  private async syncRoot(): Promise<void> {
    const handle = await open(this.config.root, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
