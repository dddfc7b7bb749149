import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where what cannot be published goes instead of stopping the line:
 * - `dead_letters`: the full detail of every dead-lettered message (the DLQ record only
 *   carries a bounded copy and this row's id), and the letters the DLQ itself refused or
 *   could not take (`published_at` NULL, `parked_reason` set);
 * - `outbox_messages.parked_at/parked_reason`: an outbox row the broker refuses is parked
 *   and the relay moves on to the rows after it.
 * Each column holds at most what one Kafka record delivered (≈ 1 MB) or a bounded text.
 */
export class DeadLettersAndParkedOutbox1764590000000 implements MigrationInterface {
  name = 'DeadLettersAndParkedOutbox1764590000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS dead_letters (
        id              bigserial   PRIMARY KEY,
        consumer_group  text        NOT NULL,
        topic           text        NOT NULL,
        "partition"     integer     NOT NULL,
        "offset"        bigint      NOT NULL,
        message_key     bytea,
        value           bytea,
        headers         jsonb       NOT NULL DEFAULT '[]',
        error           text        NOT NULL,
        reasons         jsonb       NOT NULL DEFAULT '[]',
        outcome         text        NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        published_at    timestamptz,
        parked_reason   text,
        CONSTRAINT dead_letters_error_bounded CHECK (length(error) <= 16000),
        CONSTRAINT dead_letters_parked_reason_bounded CHECK (length(parked_reason) <= 4000),
        CONSTRAINT dead_letters_value_bounded CHECK (octet_length(value) <= 4194304),
        CONSTRAINT dead_letters_once UNIQUE (consumer_group, topic, "partition", "offset")
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS dead_letters_unpublished ON dead_letters (id) WHERE published_at IS NULL`);
    await queryRunner.query(`ALTER TABLE outbox_messages ADD COLUMN IF NOT EXISTS parked_at timestamptz, ADD COLUMN IF NOT EXISTS parked_reason text`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS outbox_messages_parked ON outbox_messages (position) WHERE parked_at IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS outbox_messages_parked`);
    await queryRunner.query(`ALTER TABLE outbox_messages DROP COLUMN IF EXISTS parked_reason, DROP COLUMN IF EXISTS parked_at`);
    await queryRunner.query(`DROP TABLE IF EXISTS dead_letters`);
  }
}
