import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The deadline sweeper reads when each step's command reached the broker: it joins
 * `saga_steps.last_message_id` to `outbox_messages.message_id`, which had no index.
 * `IF NOT EXISTS`: the messaging tables are another package's, which may add one too.
 * Never edited once merged.
 */
export class IndexOutboxMessageId1764590000000 implements MigrationInterface {
  name = 'IndexOutboxMessageId1764590000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS outbox_messages_message_id_idx ON outbox_messages (message_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS outbox_messages_message_id_idx`);
  }
}
