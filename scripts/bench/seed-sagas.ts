/**
 * Fills an orchestrator database with `count` finished create/delete-site sagas — rows in
 * saga_instances, their five steps, two history rows each, and their inbox and outbox rows
 * — as months of use would leave them, in SQL (generate_series), in chunks. For benches
 * that ask whether a cost stays flat as history grows (`pnpm bench:admin`, `pnpm bench:saga
 * -- --history N`). Mostly COMPLETED, some COMPENSATED, FAILED and RUNNING; created over
 * the 5 days before now (younger than every retention default); search keys `seed-<n>`.
 */
import { Client } from 'pg';

const CHUNK = 50_000;

export async function seedSagas(databaseUrl: string, count: number, log: (line: string) => void = () => undefined): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const started = Date.now();
  try {
    await client.query(`SET synchronous_commit = off`);
    for (let from = 0; from < count; from += CHUNK) {
      const to = Math.min(count, from + CHUNK) - 1;
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO saga_instances (id, type, status, version, data, failure, correlation_id, search_key, created_at, updated_at)
         SELECT md5('seed' || n)::uuid,
                CASE WHEN n % 10 = 0 THEN 'DeleteSite' ELSE 'CreateSite' END,
                CASE WHEN n % 200 = 1 THEN 'FAILED' WHEN n % 200 = 2 THEN 'RUNNING' WHEN n % 50 = 3 THEN 'COMPENSATED' ELSE 'COMPLETED' END,
                9,
                jsonb_build_object('siteId', md5('seed' || n)::uuid, 'name', 'seed-' || n, 'domain', 'seed-' || n || '.example.com', 'adminEmail', 'owner@example.com'),
                CASE WHEN n % 200 = 1 OR n % 50 = 3 THEN jsonb_build_object('failedStep', 'ProvisionDatabase', 'reason', 'seeded failure', 'cause', 'exhausted', 'stuck', '[]'::jsonb) END,
                md5('seed' || n)::uuid::text,
                'seed-' || n,
                now() - interval '5 days' + (n::float8 / $3) * interval '5 days',
                now() - interval '5 days' + (n::float8 / $3) * interval '5 days' + interval '2 seconds'
           FROM generate_series($1::int, $2::int) AS n`,
        [from, to, count],
      );
      await client.query(
        `INSERT INTO saga_steps (saga_id, name, position, state, attempts, compensation_attempts, may_have_taken_effect, deadline_at, deadline_kind, last_message_id, started_at, finished_at, error)
         SELECT md5('seed' || n)::uuid, s.name, s.position,
                CASE WHEN n % 200 = 2 AND s.name = 'BootstrapSite' THEN 'RUNNING' WHEN n % 200 = 2 AND s.position > 2 THEN 'PENDING' ELSE 'SUCCEEDED' END,
                1, 0, true,
                CASE WHEN n % 200 = 2 AND s.name = 'BootstrapSite' THEN now() + interval '1 day' END,
                CASE WHEN n % 200 = 2 AND s.name = 'BootstrapSite' THEN 'reply' END,
                md5('seed-step' || n || s.name), now() - interval '5 days', now() - interval '4 days', NULL
           FROM generate_series($1::int, $2::int) AS n,
                (VALUES ('ReserveSite', 0), ('ProvisionStorage', 1), ('ProvisionDatabase', 1), ('BootstrapSite', 2), ('ActivateSite', 3)) AS s(name, position)`,
        [from, to],
      );
      await client.query(
        `INSERT INTO saga_history (saga_id, direction, topic, message_id, type, step, at)
         SELECT md5('seed' || n)::uuid, h.direction, h.topic, md5('seed-history' || n || h.type), h.type, NULL, now() - interval '4 days'
           FROM generate_series($1::int, $2::int) AS n,
                (VALUES ('in', 'site-saga.commands', 'CreateSite'), ('out', 'site-saga.events', 'SiteCreated')) AS h(direction, topic, type)`,
        [from, to],
      );
      await client.query(
        `INSERT INTO inbox_messages (consumer, message_id, type)
         SELECT 'site-saga', md5('seed-inbox' || n), 'SiteActivated' FROM generate_series($1::int, $2::int) AS n`,
        [from, to],
      );
      await client.query('COMMIT');
      log(`  seeded ${to + 1} of ${count} sagas (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    // What autovacuum does to a table that grew by inserts (autovacuum_vacuum_insert_threshold),
    // at once: statistics, hint bits and the visibility map. Without it the first reads of
    // each page set hint bits and write, and a history built over months is never that cold.
    log('  vacuum (analyze) of the seeded tables');
    for (const table of ['saga_instances', 'saga_steps', 'saga_history', 'inbox_messages']) await client.query(`VACUUM (ANALYZE) ${table}`);
    // And what the checkpoints of those months did: the seeding's and the vacuum's dirty
    // pages written now, not by a checkpoint that runs under the measured requests.
    log('  checkpoint');
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}
