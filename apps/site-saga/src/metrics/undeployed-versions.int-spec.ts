import { SAGA_ENTITIES, SAGA_MIGRATIONS, SagaEngine } from '@sitesaga/saga';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { testSaga } from '../admin/testing/test-site-saga';
import { UndeployedVersions } from './undeployed-versions';

jest.setTimeout(60_000);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataSource: DataSource;

beforeAll(async () => {
  database = await freshDatabase('undeployed_versions_it');
  dataSource = new DataSource({ type: 'postgres', url: database.url, entities: [...SAGA_ENTITIES], migrations: [...SAGA_MIGRATIONS], logging: false });
  await dataSource.initialize();
  await dataSource.runMigrations();
});

afterAll(async () => {
  await dataSource?.destroy();
  await database?.drop();
});

const insertSaga = (id: string, type: string, status: string, definitionVersion: number) =>
  dataSource.query(
    `INSERT INTO saga_instances (id, type, status, version, definition_version, data, correlation_id, created_at, updated_at)
     VALUES ($1, $2, $3, 1, $4, '{}', 'c', now(), now())`,
    [id, type, status, definitionVersion],
  );

it('counts the unended sagas of a definition version not deployed in /metrics and names them in a warning at boot', async () => {
  await insertSaga('11111111-0000-4000-8000-000000000001', testSaga.type, 'RUNNING', 1); // deployed
  await insertSaga('11111111-0000-4000-8000-000000000002', testSaga.type, 'RUNNING', 3);
  await insertSaga('11111111-0000-4000-8000-000000000003', testSaga.type, 'FAILED', 3);
  await insertSaga('11111111-0000-4000-8000-000000000004', testSaga.type, 'COMPLETED', 3); // ended: nothing waits
  await insertSaga('11111111-0000-4000-8000-000000000005', 'RetiredSaga', 'RUNNING', 1); // a type not run at all: set aside instead
  const warnings: string[] = [];
  const logger = { warn: (_fields: unknown, message: string) => warnings.push(message) } as unknown as Logger;
  const registry = new Registry();
  const report = new UndeployedVersions(new SagaEngine([testSaga]), dataSource, logger, registry);

  await report.onApplicationBootstrap();

  expect(warnings).toEqual([
    `2 ${testSaga.type} saga(s) started on version 3, which is not deployed: they wait (replies parked) until it is, e.g. 11111111-0000-4000-8000-000000000002, 11111111-0000-4000-8000-000000000003`,
  ]);
  expect(await registry.metrics()).toContain(`saga_undeployed_version_sagas{type="${testSaga.type}",version="3"} 2`);
});
