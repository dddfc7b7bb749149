import { CreateSite, DeleteSite, type Envelope, sagaIdFor } from '@sitesaga/contracts';
import { CreateMessagingTables1732400000000 } from '@sitesaga/messaging';
import { createLogger } from '@sitesaga/service';
import { SAGA_ENTITIES, SagaEngine, SagaStore } from '@sitesaga/saga';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { SITE_SAGA_MIGRATIONS } from '../persistence/site-saga-migrations';
import { createSiteSaga } from '../sagas/create-site.saga';
import { deleteSiteSaga } from '../sagas/delete-site.saga';
import type { SagaChanges } from '../sagas/saga-changes';
import { CreateSiteHandler } from './create-site.handler';
import { DeleteSiteHandler } from './delete-site.handler';
import { testUnitOfWork } from '../testing/test-unit-of-work';

/** Every client command gets an answer, and no answer speaks for somebody else's saga. */
jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;
let createHandler: CreateSiteHandler;
let deleteHandler: DeleteSiteHandler;

beforeAll(async () => {
  database = await freshDatabase('command_answers_it');
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    entities: [...SAGA_ENTITIES],
    migrations: [CreateMessagingTables1732400000000, ...SITE_SAGA_MIGRATIONS],
    logging: false,
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  const logger = createLogger('site-saga', { level: 'silent', destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  const unitOfWork = testUnitOfWork(dataSource, logger);
  const engine = new SagaEngine([createSiteSaga, deleteSiteSaga], new SagaStore({ outboxTable: 'outbox_messages' }));
  const changes = { committed: () => undefined } as unknown as SagaChanges;
  createHandler = new CreateSiteHandler(unitOfWork, engine, changes, logger);
  deleteHandler = new DeleteSiteHandler(unitOfWork, engine, changes, logger);
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

/** What the orchestrator sent in answer to `commandId` (its causation). */
async function answersTo(commandId: string): Promise<Envelope[]> {
  const rows = (await dataSource.query(`SELECT value FROM outbox_messages ORDER BY position`)) as { value: string }[];
  return rows.map((row) => JSON.parse(row.value) as Envelope).filter((envelope) => envelope.causationId === commandId);
}

/** A CreateSite whose payload breaks the contract, as the transport hands it to `reject`. */
const invalidCreateSite = (sagaId: string, correlationId: string): Envelope => ({
  id: randomUUID(),
  type: 'CreateSite',
  version: 1,
  sagaId,
  correlationId,
  causationId: null,
  occurredAt: new Date().toISOString(),
  payload: { name: 'x', domain: 'nope', adminEmail: 'nope' },
});

const createSite = (sagaId: string, name = `site-${randomUUID().slice(0, 8)}`) =>
  CreateSite.create({ name, domain: `${name}.example.com`, adminEmail: 'owner@example.com' }, { sagaId, correlationId: `client-${sagaId}`, causationId: null });

describe('answers to client commands', () => {
  it('rejects a CreateSite naming a running saga under an id of its own, never the running saga’s', async () => {
    const running = randomUUID();
    await createHandler.handle(createSite(running));
    const intruder = createSite(running);

    await createHandler.handle(intruder);

    const [answer, ...more] = await answersTo(intruder.id);
    expect(more).toEqual([]);
    expect(answer).toMatchObject({
      type: 'SiteCreationRejected',
      sagaId: sagaIdFor(intruder.id),
      correlationId: intruder.id,
      causationId: intruder.id,
      payload: { reasons: [{ field: 'sagaId', message: 'names a saga that already exists' }] },
    });
    expect(answer?.sagaId).not.toBe(running);
  });

  it('rejects an invalid CreateSite under an existing saga’s id without speaking for that saga', async () => {
    const running = randomUUID();
    await createHandler.handle(createSite(running));
    const invalid = invalidCreateSite(running, running);

    await createHandler.reject({ envelope: invalid, reasons: [{ field: 'payload.name', message: 'too short' }], error: 'invalid' });

    const [answer] = await answersTo(invalid.id);
    expect(answer).toMatchObject({
      type: 'SiteCreationRejected',
      sagaId: sagaIdFor(invalid.id),
      causationId: invalid.id,
      payload: { reasons: [{ field: 'name', message: 'too short' }] },
    });
  });

  it('keeps the sender’s saga id on the rejection of an invalid CreateSite that names no saga', async () => {
    const fresh = randomUUID();
    const invalid = invalidCreateSite(fresh, `client-${fresh}`);

    await createHandler.reject({ envelope: invalid, reasons: [{ field: 'payload.domain', message: 'not a host name' }], error: 'invalid' });

    const [answer] = await answersTo(invalid.id);
    expect(answer).toMatchObject({ type: 'SiteCreationRejected', sagaId: fresh, correlationId: `client-${fresh}`, causationId: invalid.id });
  });

  it('answers a DeleteSite naming an existing saga with SiteDeletionRejected under an id of its own', async () => {
    const running = randomUUID();
    const siteId = randomUUID();
    await deleteHandler.handle(DeleteSite.create({ siteId }, { sagaId: running, correlationId: running, causationId: null }));
    const again = DeleteSite.create({ siteId }, { sagaId: running, correlationId: running, causationId: null });

    await deleteHandler.handle(again);

    const [answer] = await answersTo(again.id);
    expect(answer).toMatchObject({
      type: 'SiteDeletionRejected',
      sagaId: sagaIdFor(again.id),
      correlationId: again.id,
      causationId: again.id,
      payload: { siteId, reasons: [{ field: 'sagaId', message: 'names a saga that already exists' }] },
    });
  });

  it('answers a CreateSite whose saga cannot be recorded instead of leaving the client waiting', async () => {
    const sagaId = randomUUID();
    // A value Postgres refuses in jsonb: the saga row cannot be inserted, whatever the retries.
    const command = createSite(sagaId, 'nul-in-tagline');
    const broken = { ...command, payload: { ...command.payload, tagline: 'a\u0000b' } };

    await createHandler.handle(broken);

    const [answer] = await answersTo(broken.id);
    expect(answer).toMatchObject({ type: 'SiteCreationRejected', causationId: broken.id, payload: { reasons: [{ field: '(message)' }] } });
    expect((answer?.payload as { reasons: { message: string }[] }).reasons[0]?.message).toMatch(/^could not be started: /);
  });
});
