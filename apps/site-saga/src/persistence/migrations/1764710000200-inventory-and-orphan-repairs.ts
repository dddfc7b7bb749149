import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - `inventory_pages`: the participants' answers to the inventory commands, one row per
 *   request (a page), kept until the replica that asked reads it (any replica may consume
 *   the reply); stale rows are pruned by the asker.
 * - `orphan_repairs`: every orphan repair an operator asked for (dry runs included): who,
 *   when, what it was asked to repair and what it sent.
 * - an index on the site id in a saga's data, for the site view's "every saga of this site".
 * Never edited once merged.
 */
export class InventoryAndOrphanRepairs1764710000200 implements MigrationInterface {
  name = 'InventoryAndOrphanRepairs1764710000200';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS inventory_pages (
        request_id  uuid        PRIMARY KEY,
        owner       text        NOT NULL,
        source      text        NOT NULL,
        items       jsonb,
        next_cursor text,
        failure     text,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS orphan_repairs (
        id         uuid        PRIMARY KEY,
        operator   text        NOT NULL,
        dry_run    boolean     NOT NULL,
        requested  jsonb       NOT NULL,
        commands   jsonb       NOT NULL,
        skipped    jsonb       NOT NULL,
        at         timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS orphan_repairs_at_idx ON orphan_repairs (at)`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS saga_instances_site_id_idx ON saga_instances ((data ->> 'siteId'))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS saga_instances_site_id_idx`);
    await queryRunner.query(`DROP TABLE IF EXISTS orphan_repairs`);
    await queryRunner.query(`DROP TABLE IF EXISTS inventory_pages`);
  }
}
