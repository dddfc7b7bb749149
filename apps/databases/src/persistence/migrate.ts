import 'reflect-metadata';
import { databaseUrlFor, ensureDatabaseExists, runMigrationsExclusively } from '@sitesaga/messaging';
import { databasesDataSource } from './data-source';

/** `pnpm --filter @sitesaga/databases migrate`: creates the database when missing and migrates it (the service also does at boot). */
async function migrate(): Promise<void> {
  await ensureDatabaseExists(databaseUrlFor('databases'));
  const dataSource = await databasesDataSource().initialize();
  try {
    const applied = await runMigrationsExclusively(dataSource, databaseUrlFor('databases'));
    console.log(applied.length ? `applied ${applied.map((migration) => migration.name).join(', ')}` : 'databases database is up to date');
  } finally {
    await dataSource.destroy();
  }
}

migrate().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
