import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox and inbox every service keeps in its own database. Included by each app in
 * its migration list; never edited once merged.
 */
export class CreateMessagingTables1732400000000 implements MigrationInterface {
  name = 'CreateMessagingTables1732400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE outbox_messages (
        position    bigserial PRIMARY KEY,
        message_id  text        NOT NULL,
        topic       text        NOT NULL,
        message_key text        NOT NULL,
        type        text        NOT NULL,
        value       text        NOT NULL,
        headers     jsonb       NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now(),
        sent_at     timestamptz
      )`);
    // The relay reads only unsent rows, in commit-ish order: a small partial index.
    await queryRunner.query(`CREATE INDEX outbox_messages_unsent ON outbox_messages (position) WHERE sent_at IS NULL`);
    await queryRunner.query(`CREATE INDEX outbox_messages_sent_at ON outbox_messages (sent_at) WHERE sent_at IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE inbox_messages (
        consumer     text        NOT NULL,
        message_id   text        NOT NULL,
        type         text        NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE inbox_messages`);
    await queryRunner.query(`DROP TABLE outbox_messages`);
  }
}
