import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { SiteDirectories } from './site-directories';

/** The root's listing for the inventory, against a real file system: complete, in order, in pages. */
describe('SiteDirectories.list', () => {
  let root: string;
  let directories: SiteDirectories;

  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(tmpdir(), 'storage-inventory-')));
    directories = new SiteDirectories({ root }, pino({ level: 'silent' }));
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('pages through every entry by name, leaving out the staging leftovers, and names the site of each', async () => {
    const sites = Array.from({ length: 7 }, () => randomUUID()).sort();
    for (const siteId of sites) mkdirSync(path.join(root, siteId));
    mkdirSync(path.join(root, 'lost+found'));
    writeFileSync(path.join(root, 'notes\ntxt'), 'a file with a newline in its name');
    mkdirSync(path.join(root, `.tmp-${sites[0]}-abcd`));

    const seen: { name: string; siteId: string | null }[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await directories.list(after, 3);
      seen.push(...page.items.map((item) => ({ name: item.name, siteId: item.siteId })));
      after = page.nextCursor;
      pages += 1;
    } while (after !== null && pages < 10);

    const expected = [...sites, 'lost+found', 'notes?txt'].sort();
    expect(seen.map((item) => item.name)).toEqual(expected);
    expect(pages).toBe(3);
    expect(seen.filter((item) => item.siteId !== null).map((item) => item.siteId)).toEqual(sites);
  });

  it('lists one site by its id: one item when something is at its path, none otherwise', async () => {
    const siteId = randomUUID();
    expect((await directories.listOne(siteId)).items).toEqual([]);
    await directories.ensure(siteId);
    expect((await directories.listOne(siteId)).items).toEqual([{ name: siteId, siteId, status: null, sagaId: null }]);
  });
});
