import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { UnsafeSitePath } from '../domain/site-directory';
import { SiteDirectories } from './site-directories';

/** The disk effects against a real file system: atomic, repeatable, contained. */
describe('SiteDirectories', () => {
  let sandbox: string;
  let root: string;
  let outside: string;
  let directories: SiteDirectories;

  beforeEach(() => {
    sandbox = realpathSync(mkdtempSync(path.join(tmpdir(), 'storage-disk-')));
    root = path.join(sandbox, 'root');
    outside = path.join(sandbox, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'precious.txt'), 'keep me');
    directories = new SiteDirectories({ root }, pino({ level: 'silent' }));
  });

  afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

  it('creates the site tree, and creating it again is a success that changes nothing', async () => {
    const siteId = randomUUID();
    const directory = await directories.ensure(siteId);
    expect(directory).toBe(path.join(root, siteId));
    for (const folder of ['uploads', 'themes', 'plugins']) expect(lstatSync(path.join(directory, 'wp-content', folder)).isDirectory()).toBe(true);
    writeFileSync(path.join(directory, 'wp-content', 'uploads', 'photo.jpg'), 'x');

    await directories.ensure(siteId);
    expect(existsSync(path.join(directory, 'wp-content', 'uploads', 'photo.jpg'))).toBe(true);
    expect(readdirSync(root)).toEqual([siteId]); // no staging left behind
  });

  it('removes the tree, and removing a missing tree is a success', async () => {
    const siteId = randomUUID();
    await directories.ensure(siteId);
    await directories.remove(siteId);
    await directories.remove(siteId);
    await directories.remove(randomUUID());
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses a symlink planted at a site path, and removing it leaves its target alone', async () => {
    const siteId = randomUUID();
    symlinkSync(outside, path.join(root, siteId));
    await expect(directories.ensure(siteId)).rejects.toThrow(/not a directory/);
    expect(readdirSync(outside)).toEqual(['precious.txt']);

    await directories.remove(siteId);
    expect(readdirSync(root)).toEqual([]);
    expect(readdirSync(outside)).toEqual(['precious.txt']);
  });

  it('never writes outside the root, whatever site id it is given', async () => {
    for (const hostile of ['../outside', '../../etc', path.join(outside, 'x'), '%2e%2e/outside', `${randomUUID()}\0`]) {
      await expect(directories.ensure(hostile)).rejects.toThrow(UnsafeSitePath);
      await expect(directories.remove(hostile)).rejects.toThrow(UnsafeSitePath);
    }
    expect(readdirSync(outside)).toEqual(['precious.txt']);
    expect(readdirSync(root)).toEqual([]);
  });

  it('sweeps stale builds and interrupted deletions, and leaves fresh builds and sites alone', async () => {
    const site = randomUUID();
    await directories.ensure(site);
    const stale = `.tmp-${randomUUID()}-aa11`;
    const fresh = `.tmp-${randomUUID()}-bb22`;
    const trash = `.trash-${randomUUID()}-cc33`;
    for (const name of [stale, fresh, trash]) mkdirSync(path.join(root, name, 'wp-content'), { recursive: true });
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    utimesSync(path.join(root, stale), twoMinutesAgo, twoMinutesAgo);

    expect((await directories.sweep()).sort()).toEqual([stale, trash].sort());
    expect(readdirSync(root).sort()).toEqual([fresh, site].sort());
  });
});
