/**
 * Node flags every service is launched with (scripts/start-local.ts, the Dockerfile's
 * NODE_OPTIONS, the apps' `start` scripts, the test harness). Unlike the old generation's
 * growth (libs/service/src/heap.ts), these can only be given at launch: V8 sizes its heap before any
 * of the service's code runs.
 *
 * `--max-semi-space-size=8`: the young generation grows to 2 × 8 MB instead of 2 × 16 MB.
 * Under load it always grows to its maximum, while what survives a scavenge is a few MB:
 * the orchestrator's peak RSS at 32 sagas in flight went from 155-156 MB to 143-146 MB, its
 * CPU per saga unchanged within the noise (`bench:saga --stub`, two runs each, one window).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** The flags to launch a service with: SERVICE_NODE_FLAGS, less those NODE_OPTIONS already sets (its value wins). */
export function serviceNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const given = (env.NODE_OPTIONS ?? '').split(/\s+/).map((flag) => flag.split('=')[0]!.replace(/_/g, '-'));
  return SERVICE_NODE_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]!));
}
