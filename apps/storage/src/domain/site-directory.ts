import { BusinessRejection } from '@sitesaga/messaging';
import * as path from 'node:path';

/** A site directory that would not be a direct child of STORAGE_ROOT, or a malformed site id. */
export class UnsafeSitePath extends BusinessRejection {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeSitePath';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a site starts with: WordPress-style content folders. */
export const SITE_LAYOUT: readonly string[] = ['wp-content/uploads', 'wp-content/themes', 'wp-content/plugins', 'wp-content/upgrade', 'wp-content/languages'];

/**
 * The one place a site's directory is named: `<root>/<siteId>`, derived from the site id
 * alone (never from a name or domain). Refuses anything that is not a uuid, and checks
 * that the result is a direct child of root, so no input can point outside STORAGE_ROOT.
 */
export function siteDirectoryFor(root: string, siteId: unknown): string {
  if (typeof root !== 'string' || !path.isAbsolute(root) || root.includes('\0')) throw new UnsafeSitePath('storage root must be an absolute path');
  if (typeof siteId !== 'string' || !UUID.test(siteId)) throw new UnsafeSitePath('site id must be a uuid');
  const base = path.resolve(root);
  const name = siteId.toLowerCase();
  const directory = path.resolve(base, name);
  if (path.dirname(directory) !== base || path.basename(directory) !== name) throw new UnsafeSitePath('site directory would leave the storage root');
  return directory;
}

export type StagingKind = 'tmp' | 'trash';

/**
 * Where a tree is built before it is renamed into place (`.tmp-…`), or moved before it is
 * deleted (`.trash-…`): dot names never look like a site, so a half-built or half-deleted
 * tree is never mistaken for a provisioned one.
 */
export function stagingDirectoryFor(root: string, siteId: string, kind: StagingKind, suffix: string): string {
  const directory = siteDirectoryFor(root, siteId);
  if (!/^[0-9a-f]{4,32}$/.test(suffix)) throw new UnsafeSitePath('staging suffix must be hex');
  return path.join(path.dirname(directory), `.${kind}-${path.basename(directory)}-${suffix}`);
}

export const STALE_STAGING_MS = 60_000;

/**
 * Whether a root entry is a leftover of a crash: a `.tmp-` build older than a minute
 * (younger ones may be in progress in a sibling replica), or any `.trash-` tree (it was
 * already renamed away from its site; only its removal was interrupted).
 */
export function isLeftover(name: string, modifiedAtMs: number, nowMs: number): boolean {
  if (/^\.trash-[0-9a-f-]{36}-[0-9a-f]{4,32}$/.test(name)) return true;
  return /^\.tmp-[0-9a-f-]{36}-[0-9a-f]{4,32}$/.test(name) && nowMs - modifiedAtMs > STALE_STAGING_MS;
}
