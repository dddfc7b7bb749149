import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Definition versions (docs/adr/0007) and keyed exclusion (docs/adr/0008):
 * - `saga_instances.definition_version`: the version of its definition a saga started on;
 *   every saga that existed before is version 1 (what every definition was).
 * - `saga_parked_replies`: replies to a saga whose definition version is not deployed,
 *   kept in order until it is deployed again (then handled, and deleted).
 * - `saga_exclusion_holders`: one row per exclusion key in use, naming the saga that holds
 *   it. Its primary key is the serialization point: a saga's start claims the key with an
 *   upsert that locks the row, in the start's transaction, so two replicas never both hold it.
 *   No foreign key: the holder is claimed before its saga row is written (same transaction).
 * - `saga_exclusion_waiters`: sagas waiting for a key, first come first served by `seq`.
 *   Its foreign key is checked at commit: a store that writes the saga row at commit
 *   (deferred writes) may queue the waiter before the row exists.
 */
export class SagaDefinitionVersionsAndExclusion1764700000000 implements MigrationInterface {
  name = 'SagaDefinitionVersionsAndExclusion1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE saga_instances ADD COLUMN definition_version integer NOT NULL DEFAULT 1`);
    await queryRunner.query(`
      CREATE TABLE saga_parked_replies (
        id        bigserial   PRIMARY KEY,
        saga_id   uuid        NOT NULL CONSTRAINT saga_parked_replies_saga_id_fkey REFERENCES saga_instances (id) ON DELETE CASCADE,
        envelope  jsonb       NOT NULL,
        reason    text        NOT NULL,
        parked_at timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX saga_parked_replies_saga_id_id_idx ON saga_parked_replies (saga_id, id)`);
    await queryRunner.query(`
      CREATE TABLE saga_exclusion_holders (
        exclusion_key text        PRIMARY KEY,
        saga_id       uuid        NOT NULL,
        since         timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX saga_exclusion_holders_saga_id_idx ON saga_exclusion_holders (saga_id)`);
    await queryRunner.query(`
      CREATE TABLE saga_exclusion_waiters (
        saga_id       uuid      PRIMARY KEY CONSTRAINT saga_exclusion_waiters_saga_id_fkey REFERENCES saga_instances (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
        exclusion_key text      NOT NULL,
        seq           bigserial NOT NULL,
        cause_id      text
      )`);
    await queryRunner.query(`CREATE INDEX saga_exclusion_waiters_key_seq_idx ON saga_exclusion_waiters (exclusion_key, seq)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE saga_exclusion_waiters`);
    await queryRunner.query(`DROP TABLE saga_exclusion_holders`);
    await queryRunner.query(`DROP TABLE saga_parked_replies`);
    await queryRunner.query(`ALTER TABLE saga_instances DROP COLUMN definition_version`);
  }
}
