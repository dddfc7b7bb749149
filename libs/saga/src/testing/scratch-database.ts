import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, type Logger } from 'typeorm';
import { SAGA_ENTITIES, SAGA_MIGRATIONS } from '../index';

const serverUrl = (): URL => new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

async function onServer(sql: string): Promise<void> {
  const url = serverUrl();
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Counts the statements a DataSource sends, to keep the per-event cost honest. */
export class StatementCounter implements Logger {
  statements: string[] = [];
  logQuery(query: string): void {
    if (!/^(START TRANSACTION|COMMIT|ROLLBACK|SELECT version\(\)|SELECT \* FROM current_schema\(\))/i.test(query.trim())) this.statements.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** A fresh database (`saga_it_<random>`) with the saga migration run; `drop()` removes it. */
export async function scratchDatabase(): Promise<{ dataSource: DataSource; counter: StatementCounter; drop: () => Promise<void> }> {
  const name = `saga_it_${randomBytes(4).toString('hex')}`;
  await onServer(`CREATE DATABASE "${name}"`);
  const url = serverUrl();
  url.pathname = `/${name}`;
  const counter = new StatementCounter();
  const dataSource = new DataSource({
    type: 'postgres',
    url: url.toString(),
    entities: [...SAGA_ENTITIES],
    migrations: [...SAGA_MIGRATIONS],
    logging: ['query'],
    logger: counter,
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  return {
    dataSource,
    counter,
    drop: async () => {
      await dataSource.destroy();
      await onServer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
