import { Inject, Injectable } from '@nestjs/common';
import { BusinessRejection, TransientFailure } from '@sitesaga/messaging';
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { BOOTSTRAP_CONFIG, type BootstrapConfig } from '../config/bootstrap-config';
import { CONFIG_FILE_NAME } from '../domain/wp-config';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const codeOf = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;

/**
 * The only code that touches the disk: a site's config file in its storage directory,
 * `<STORAGE_ROOT>/<siteId>/wp-config.php` (the directory apps/storage provisions).
 */
@Injectable()
export class SiteConfigFiles {
  constructor(@Inject(BOOTSTRAP_CONFIG) private readonly config: BootstrapConfig) {}

  /** Pure: the file's path, a direct child of the site's directory under STORAGE_ROOT. */
  pathOf(siteId: string): string {
    const id = siteId.toLowerCase();
    if (!UUID.test(id)) throw new BusinessRejection('a site id is a UUID');
    return path.join(this.config.storageRoot, id, CONFIG_FILE_NAME);
  }

  /** The site's storage directory; transient failure when it does not exist (yet). */
  async directoryOf(siteId: string): Promise<string> {
    const directory = path.dirname(this.pathOf(siteId));
    let stats;
    try {
      stats = await lstat(directory);
    } catch (error) {
      if (codeOf(error) === 'ENOENT') throw new TransientFailure(`the storage directory of site ${siteId} does not exist (yet)`);
      throw error;
    }
    // A symlink planted at the site's name is refused, never followed.
    if (!stats.isDirectory()) throw new BusinessRejection(`the storage of site ${siteId} is not a directory`);
    return directory;
  }

  /**
   * Writes the file atomically: a new temporary file (O_EXCL, mode 0600) beside it, synced,
   * then renamed over the old one. Readers see the old file or the new one, never half of
   * it; a planted symlink is replaced, never followed. A missing site directory is
   * transient: storage may not be there yet.
   */
  async write(siteId: string, content: string): Promise<string> {
    const file = this.pathOf(siteId);
    const directory = await this.directoryOf(siteId);
    const temporary = path.join(directory, `.${CONFIG_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(content, 'utf8');
        await handle.chmod(0o600); // whatever the umask
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      const parent = await open(directory, 'r'); // the rename itself survives a power cut
      try {
        await parent.sync();
      } finally {
        await parent.close();
      }
    } catch (error) {
      await rm(temporary, { force: true });
      if (codeOf(error) === 'ENOENT') throw new TransientFailure(`the storage directory of site ${siteId} went away while writing`);
      throw error;
    }
    return file;
  }
}
