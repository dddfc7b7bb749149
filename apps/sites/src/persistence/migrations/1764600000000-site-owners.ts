import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each site remembers the client that asked for it (`site_requests.client_id`; NULL for a
 * site an operator or a Kafka command created: operators only). The index serves the
 * per-client list, the per-minute quota and the live-sites quota. Never edited once merged.
 */
export class SiteOwners1764600000000 implements MigrationInterface {
  name = 'SiteOwners1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE site_requests ADD COLUMN client_id text`);
    await queryRunner.query(`CREATE INDEX site_requests_client ON site_requests (client_id, created_at DESC) WHERE client_id IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX site_requests_client`);
    await queryRunner.query(`ALTER TABLE site_requests DROP COLUMN client_id`);
  }
}
