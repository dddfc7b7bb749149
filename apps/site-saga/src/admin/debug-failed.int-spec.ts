import { ReleaseSite } from '@sitesaga/contracts';
import { startAdminTestApp } from './testing/admin-test-app';
jest.setTimeout(30000);
it('debug', async () => {
  const h = await startAdminTestApp({ adminToken: 'x' });
  try {
    const id = await h.fixtures.start('dbg');
    await h.fixtures.abort(id, 'test');
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      console.log(attempt, await h.fixtures.fail(id, ReleaseSite, 'transient', 'down'));
      let s = await h.engine.store.load(h.dataSource.manager, id);
      console.log(JSON.stringify(s!.steps[0]), s!.status);
      if (attempt < 3) console.log('deadline', await h.fixtures.deadline(id, 'ReserveSite'));
    }
    console.log(h.fixtures.sentBy(id));
  } finally { await h.close(); }
});
