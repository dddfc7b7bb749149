import { mkdtemp, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { BusinessRejection, TransientFailure } from '@sitesaga/messaging';
import type { BootstrapConfig } from '../config/bootstrap-config';
import { SiteConfigFiles } from './site-config-files';

describe('site config files on a real disk', () => {
  let root: string;
  let files: SiteConfigFiles;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'bootstrap-files-'));
    files = new SiteConfigFiles({ storageRoot: root, secretsKey: randomBytes(32) } as unknown as BootstrapConfig);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the file with mode 0600 and replaces it whole, leaving no temporary file', async () => {
    const siteId = randomUUID();
    await mkdir(path.join(root, siteId));
    const file = await files.write(siteId, 'first');
    expect(file).toBe(path.join(root, siteId, 'wp-config.php'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await files.write(siteId, 'second');
    expect(await readFile(file, 'utf8')).toBe('second');
    expect(await readdir(path.join(root, siteId))).toEqual(['wp-config.php']);
  });

  it('reports a missing storage directory as transient', async () => {
    await expect(files.write(randomUUID(), 'x')).rejects.toBeInstanceOf(TransientFailure);
  });

  it('refuses a storage directory that is a symlink, and replaces a planted file symlink without following it', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'bootstrap-outside-'));
    try {
      const linked = randomUUID();
      await symlink(outside, path.join(root, linked));
      await expect(files.write(linked, 'x')).rejects.toBeInstanceOf(BusinessRejection);
      expect(await readdir(outside)).toEqual([]);

      const siteId = randomUUID();
      await mkdir(path.join(root, siteId));
      const target = path.join(outside, 'victim');
      await writeFile(target, 'untouched');
      await symlink(target, path.join(root, siteId, 'wp-config.php'));
      await files.write(siteId, 'config');
      expect(await readFile(target, 'utf8')).toBe('untouched');
      expect(await readFile(path.join(root, siteId, 'wp-config.php'), 'utf8')).toBe('config');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('refuses a site id that is not a UUID', () => {
    expect(() => files.pathOf('../../etc')).toThrow(BusinessRejection);
  });
});
