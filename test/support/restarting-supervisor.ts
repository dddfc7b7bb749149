import type { App, RunningSystem } from './system';

/**
 * What `npm start`'s supervisor does for the e2e tests: an app of the system that exits
 * on its own (a fault injected with mode `crash`, a SIGKILL) is started again on its
 * port, with its environment. Stop it before stopping the system.
 */
export class RestartingSupervisor {
  private stopped = false;
  /** Every restart, in order: which app and how long it took to be healthy again. */
  readonly restarts: { app: App; exit: string; tookMs: number }[] = [];
  readonly failures: string[] = [];

  constructor(
    private readonly system: RunningSystem,
    private readonly apps: readonly App[],
  ) {}

  start(): this {
    for (const app of this.apps) void this.watch(app);
    return this;
  }

  stop(): void {
    this.stopped = true;
  }

  private async watch(app: App): Promise<void> {
    while (!this.stopped) {
      const service = this.system.service(app);
      const { code, signal } = await service.exited;
      if (this.stopped) return;
      if (this.system.services.get(app) !== service) continue; // the test replaced it itself
      const began = Date.now();
      try {
        await this.system.restart(app);
        this.restarts.push({ app, exit: signal ?? `code ${code}`, tookMs: Date.now() - began });
      } catch (error) {
        this.failures.push(`${app}: ${(error as Error).message.split('\n')[0]}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }
}
