import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The orchestrator's saga tables. Exported for the app hosting the engine to include in
 * its migration list; never edited once merged.
 */
export class CreateSagaTables1732400000100 implements MigrationInterface {
  name = 'CreateSagaTables1732400000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE saga_instances (
        id             uuid        PRIMARY KEY,
        type           text        NOT NULL,
        status         text        NOT NULL CONSTRAINT saga_instances_status_check CHECK (status IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED')),
        version        integer     NOT NULL,
        data           jsonb       NOT NULL,
        failure        jsonb,
        correlation_id text        NOT NULL,
        search_key     text,
        created_at     timestamptz NOT NULL,
        updated_at     timestamptz NOT NULL
      )`);
    // The admin list: newest first with a (created_at, id) cursor, optionally by status or search key.
    await queryRunner.query(`CREATE INDEX saga_instances_created_at_idx ON saga_instances (created_at, id)`);
    await queryRunner.query(`CREATE INDEX saga_instances_status_created_at_idx ON saga_instances (status, created_at)`);
    await queryRunner.query(`CREATE INDEX saga_instances_search_key_idx ON saga_instances (search_key) WHERE search_key IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE saga_steps (
        saga_id               uuid        NOT NULL CONSTRAINT saga_steps_saga_id_fkey REFERENCES saga_instances (id) ON DELETE CASCADE,
        name                  text        NOT NULL,
        position              integer     NOT NULL,
        state                 text        NOT NULL CONSTRAINT saga_steps_state_check CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'COMPENSATING', 'COMPENSATED', 'SKIPPED')),
        attempts              integer     NOT NULL DEFAULT 0,
        compensation_attempts integer     NOT NULL DEFAULT 0,
        may_have_taken_effect boolean     NOT NULL DEFAULT false,
        deadline_at           timestamptz,
        deadline_kind         text        CONSTRAINT saga_steps_deadline_kind_check CHECK (deadline_kind IN ('reply', 'resend')),
        last_message_id       text,
        started_at            timestamptz,
        finished_at           timestamptz,
        error                 text,
        PRIMARY KEY (saga_id, name)
      )`);
    // The timer scan reads only waiting steps: a small partial index.
    await queryRunner.query(`CREATE INDEX saga_steps_deadline_at_idx ON saga_steps (deadline_at) WHERE deadline_at IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE saga_history (
        id         bigserial   PRIMARY KEY,
        saga_id    uuid        NOT NULL CONSTRAINT saga_history_saga_id_fkey REFERENCES saga_instances (id) ON DELETE CASCADE,
        direction  text        NOT NULL CONSTRAINT saga_history_direction_check CHECK (direction IN ('in', 'out')),
        topic      text,
        message_id text,
        type       text        NOT NULL,
        step       text,
        at         timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX saga_history_saga_id_id_idx ON saga_history (saga_id, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE saga_history`);
    await queryRunner.query(`DROP TABLE saga_steps`);
    await queryRunner.query(`DROP TABLE saga_instances`);
  }
}
