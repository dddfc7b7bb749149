import 'reflect-metadata';
import { databaseUrlFor, ensureDatabaseExists, runMigrationsExclusively } from '@sitesaga/messaging';
import { sitesDataSource } from './data-source';

/** `pnpm --filter @sitesaga/sites migrate`: creates the database when missing and migrates it (the service also does at boot). */
async function migrate(): Promise<void> {
  await ensureDatabaseExists(databaseUrlFor('sites'));
  const dataSource = await sitesDataSource().initialize();
  try {
    const applied = await runMigrationsExclusively(dataSource, databaseUrlFor('sites'));
    console.log(applied.length ? `applied ${applied.map((migration) => migration.name).join(', ')}` : 'sites database is up to date');
  } finally {
    await dataSource.destroy();
  }
}

migrate().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
