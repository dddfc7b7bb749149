/** Jest globalTeardown: stops what global-setup.ts started (a reused server is left alone). */
import type { TestInfrastructure } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const started: TestInfrastructure | undefined = globalThis.__SITESAGA_TEST_INFRASTRUCTURE__;
  globalThis.__SITESAGA_TEST_INFRASTRUCTURE__ = undefined;
  if (!started) return;
  const results = await Promise.allSettled([started.kafka?.stop(), started.postgres?.stop()]);
  for (const result of results) {
    if (result.status === 'rejected') process.stderr.write(`[global-teardown] ${String(result.reason)}\n`);
  }
}
