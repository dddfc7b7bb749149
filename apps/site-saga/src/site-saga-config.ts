import { isPlaceholderSecret, parseNamedSecrets } from '@sitesaga/service';

/** The orchestrator's own settings, parsed once at boot (fail fast). */
export interface SiteSagaConfig {
  readonly adminToken: string;
  /** ADMIN_TOKENS: named operator tokens (`alice:<token>,bob:<token>`). */
  readonly namedTokens: readonly { readonly name: string; readonly secret: string }[];
  /** Multiplies every saga timeout and backoff (tests and demos shrink them). */
  readonly timeScale: number;
  /** How often the deadline sweeper looks for passed deadlines. */
  readonly timerIntervalMs: number;
  /** Failed sign-ins or bearer attempts per client address in 15 minutes before it is refused (ADMIN_MAX_FAILED_ATTEMPTS). */
  readonly maxFailedAttempts: number;
  /** History of ended sagas older than this is pruned (SAGA_HISTORY_RETENTION_MS, default 30 days). */
  readonly historyRetentionMs: number;
  /** The audit log, orphan repairs and finished bulk operations older than this are pruned (ADMIN_RECORDS_RETENTION_MS, default 365 days). */
  readonly adminRecordsRetentionMs: number;
}

export function siteSagaConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SiteSagaConfig {
  const adminToken = env.ADMIN_TOKEN ?? '';
  if (adminToken.length < 16) throw new Error('ADMIN_TOKEN must be set to a secret of at least 16 characters');
  if (env.NODE_ENV === 'production' && isPlaceholderSecret(adminToken)) {
    throw new Error('ADMIN_TOKEN is a placeholder, not a secret: NODE_ENV=production needs a random token (`openssl rand -base64 24`)');
  }
  const timeScale = Number(env.SAGA_TIME_SCALE ?? 1);
  if (!(timeScale > 0 && timeScale <= 100)) throw new Error(`SAGA_TIME_SCALE must be in (0, 100], got "${env.SAGA_TIME_SCALE}"`);
  const timerIntervalMs = Number(env.SAGA_TIMER_INTERVAL_MS ?? 250);
  if (!(timerIntervalMs >= 10)) throw new Error(`SAGA_TIMER_INTERVAL_MS must be at least 10, got "${env.SAGA_TIMER_INTERVAL_MS}"`);
  const maxFailedAttempts = Number(env.ADMIN_MAX_FAILED_ATTEMPTS ?? 10);
  if (!(Number.isInteger(maxFailedAttempts) && maxFailedAttempts >= 1)) throw new Error(`ADMIN_MAX_FAILED_ATTEMPTS must be a positive integer, got "${env.ADMIN_MAX_FAILED_ATTEMPTS}"`);
  const historyRetentionMs = Number(env.SAGA_HISTORY_RETENTION_MS ?? 30 * 24 * 3_600_000);
  if (!(historyRetentionMs > 0)) throw new Error(`SAGA_HISTORY_RETENTION_MS must be a positive number of milliseconds, got "${env.SAGA_HISTORY_RETENTION_MS}"`);
  const adminRecordsRetentionMs = Number(env.ADMIN_RECORDS_RETENTION_MS ?? 365 * 24 * 3_600_000);
  if (!(adminRecordsRetentionMs > 0)) throw new Error(`ADMIN_RECORDS_RETENTION_MS must be a positive number of milliseconds, got "${env.ADMIN_RECORDS_RETENTION_MS}"`);
  const namedTokens = parseNamedSecrets('ADMIN_TOKENS', env.ADMIN_TOKENS);
  return { adminToken, namedTokens, timeScale, timerIntervalMs, maxFailedAttempts, historyRetentionMs, adminRecordsRetentionMs };
}
