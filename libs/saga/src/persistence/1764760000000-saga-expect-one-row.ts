import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `saga_expect_one_row(written, message)`: raises `message` as a serialization failure
 * (SQLSTATE 40001, retriable) unless exactly one row was written. A saga write deferred to
 * its transaction's COMMIT (see SagaStore) has no caller left to read its row count: the
 * version check fails the statement instead, which rolls the whole transaction back.
 */
export class SagaExpectOneRow1764760000000 implements MigrationInterface {
  name = 'SagaExpectOneRow1764760000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION saga_expect_one_row(written bigint, message text) RETURNS bigint
        LANGUAGE plpgsql AS $$
      BEGIN
        IF written <> 1 THEN
          RAISE EXCEPTION USING MESSAGE = message, ERRCODE = '40001';
        END IF;
        RETURN written;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION saga_expect_one_row(bigint, text)`);
  }
}
