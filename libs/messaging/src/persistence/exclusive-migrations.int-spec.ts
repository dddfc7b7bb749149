import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DataSource } from 'typeorm';
import { freshDatabase } from '../../../../test/support/fresh-database';
import { ensureDatabaseExists } from '../config/database-url';
import { CreateMessagingTables1732400000000 } from './1732400000000-create-messaging-tables';
import { runMigrationsExclusively } from './exclusive-migrations';

/**
 * Replicas booting at once on a fresh database: each runs the migrations at boot. A slow
 * migration makes the runs overlap for sure; under the lock the second waits, then finds
 * nothing pending, and every migration is applied and recorded once.
 */
jest.setTimeout(60_000);

class SlowMigration1732400009999 implements MigrationInterface {
  name = 'SlowMigration1732400009999';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('SELECT pg_sleep(1.5)');
    await queryRunner.query('CREATE TABLE slow_things (id int PRIMARY KEY)');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE slow_things');
  }
}

let database: Awaited<ReturnType<typeof freshDatabase>>;
const dataSources: DataSource[] = [];

beforeAll(async () => {
  database = await freshDatabase('migrations_it');
});

afterAll(async () => {
  for (const dataSource of dataSources) if (dataSource.isInitialized) await dataSource.destroy();
  await database?.drop();
});

const replica = async (): Promise<DataSource> => {
  const dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    migrations: [CreateMessagingTables1732400000000, SlowMigration1732400009999],
    migrationsTransactionMode: 'each',
    logging: false,
    extra: { max: 1 }, // the lock must not need a second pooled session
  });
  dataSources.push(dataSource);
  return dataSource.initialize();
};

it('migrates a fresh database once when several replicas boot at the same moment', async () => {
  const replicas = await Promise.all([replica(), replica(), replica()]);
  const applied = await Promise.all(replicas.map((dataSource) => runMigrationsExclusively(dataSource, database.url)));

  expect(applied.map((migrations) => migrations.length).sort()).toEqual([0, 0, 2]);
  const recorded = await replicas[0]!.query(`SELECT name, count(*)::int AS n FROM migrations GROUP BY name ORDER BY name`);
  expect(recorded).toEqual([
    { name: 'CreateMessagingTables1732400000000', n: 1 },
    { name: 'SlowMigration1732400009999', n: 1 },
  ]);
});

it('takes a database created meanwhile by a sibling replica as created', async () => {
  const url = new URL(database.url);
  url.pathname = `/${database.name}_created_together`;
  try {
    await expect(Promise.all(Array.from({ length: 4 }, () => ensureDatabaseExists(url.toString())))).resolves.toHaveLength(4);
  } finally {
    await dataSources[0]!.query(`DROP DATABASE IF EXISTS "${database.name}_created_together" WITH (FORCE)`);
  }
});
