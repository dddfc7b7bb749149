import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AdminSession } from './admin-auth';

/**
 * Signed-out sessions (table `admin_revoked_sessions`, shared by every replica): a cookie
 * whose session is here is refused everywhere, and the streams it opened are ended. A row
 * is kept until the session would have expired anyway, then retention prunes it.
 */
@Injectable()
export class SessionRevocations {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async revoke(session: AdminSession): Promise<void> {
    await this.dataSource.query(`INSERT INTO admin_revoked_sessions (session_id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      session.id,
      session.expires,
    ]);
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.revokedAmong([sessionId])).size > 0;
  }

  async revokedAmong(sessionIds: readonly string[]): Promise<Set<string>> {
    if (sessionIds.length === 0) return new Set();
    const rows: { session_id: string }[] = await this.dataSource.query(`SELECT session_id FROM admin_revoked_sessions WHERE session_id = ANY($1::text[])`, [
      sessionIds,
    ]);
    return new Set(rows.map((row) => row.session_id));
  }
}
