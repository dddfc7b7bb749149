import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Site records and the client requests that start them. Never edited once merged.
 *
 * Name and domain uniqueness is a database fact, not a check-then-insert: partial unique
 * indexes over live (PENDING, ACTIVE) sites only, so two concurrent reservations cannot
 * both win, and a released (FAILED), DELETING or DELETED site frees its name: deletion never
 * goes back to ACTIVE, and a FAILED site whose name was taken since can still be deleted.
 * The CHECKs restate the canonical form the contracts produce, as a last line against a
 * value that bypassed them.
 */
export class CreateSites1732400001000 implements MigrationInterface {
  name = 'CreateSites1732400001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE sites (
        id          uuid        PRIMARY KEY,
        name        text        NOT NULL CHECK (name ~ '^[a-z0-9-]{3,63}$'),
        domain      text        NOT NULL CHECK (domain ~ '^[a-z0-9.-]{3,253}$'),
        tagline     text,
        admin_email text,
        status      text        NOT NULL CHECK (status IN ('PENDING', 'ACTIVE', 'FAILED', 'DELETING', 'DELETED')),
        saga_id     uuid        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX sites_live_name ON sites (name) WHERE status IN ('PENDING', 'ACTIVE')`);
    await queryRunner.query(`CREATE UNIQUE INDEX sites_live_domain ON sites (domain) WHERE status IN ('PENDING', 'ACTIVE')`);
    await queryRunner.query(`CREATE INDEX sites_created_at ON sites (created_at DESC)`);
    // One row per accepted POST /sites: what GET shows before ReserveSite lands, and the
    // Idempotency-Key store (a repeated key finds its row and gets the same ids back).
    await queryRunner.query(`
      CREATE TABLE site_requests (
        site_id         uuid        PRIMARY KEY,
        idempotency_key text        UNIQUE,
        request_hash    text        NOT NULL,
        name            text        NOT NULL,
        domain          text        NOT NULL,
        tagline         text,
        admin_email     text        NOT NULL,
        correlation_id  text        NOT NULL,
        rejection       text,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX site_requests_open_name ON site_requests (name) WHERE rejection IS NULL`);
    await queryRunner.query(`CREATE INDEX site_requests_open_domain ON site_requests (domain) WHERE rejection IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE site_requests`);
    await queryRunner.query(`DROP TABLE sites`);
  }
}
