import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
}

/** Clock ticks (USER_HZ = 100) to ms. */
const ticksMs = (ticks: number): number => (ticks * 1000) / 100;

/** A `kB` line of /proc/<pid>/status (VmRSS, VmHWM…), in MB. */
function statusMb(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** CPU time (user + system) a process has used so far, in ms (from /proc). */
export function cpuMs(pid: number): number {
  const fields = statFields(pid);
  return ticksMs(Number(fields[11]) + Number(fields[12])); // utime, stime
}

/** Busy CPU time of the whole machine so far, in ms, all cores summed (/proc/stat; idle and iowait excluded). */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / 100;
}

/** Resident memory of a process now, in MB (VmRSS from /proc). */
export function rssMb(pid: number): number {
  return statusMb(pid, 'VmRSS');
}

/** The most resident memory a process has had so far, in MB (VmHWM from /proc): its peak under a load just run. */
export function peakRssMb(pid: number): number {
  return statusMb(pid, 'VmHWM');
}

/** User and system CPU of a process so far, in clock ticks. */
export function cpuTicks(pid: number): { user: number; system: number } {
  const fields = statFields(pid);
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

/** One measured phase of a benchmark: its printed line and the service CPU it cost. */
export interface PhaseResult {
  label: string;
  line: string;
  cpu: number;
  seconds: number;
  count: number;
}

/**
 * What an idle service burns (consumer fetch loops, heartbeats, outbox poll), measured
 * in steady state after the run, so per-command CPU can be told apart from it.
 */
export async function idleCpuPerSecond(pid: number): Promise<number> {
  const before = cpuMs(pid);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  return (cpuMs(pid) - before) / 5;
}

export function printPhaseResults(results: PhaseResult[], idle: number): void {
  for (const result of results) {
    const net = Math.max(0, result.cpu - idle * result.seconds);
    console.log(`${result.line}  service CPU ${(result.cpu / result.count).toFixed(1)} ms/command (${(net / result.count).toFixed(1)} above idle)`);
  }
  console.log(`idle service CPU: ${idle.toFixed(1)} ms/s`);
}

/** CPU so far of every process on the machine, by pid: user + system, and for each its reaped children's (ms). */
export function processCpuSnapshot(): Map<number, { ms: number; childrenMs: number; command: string }> {
  const snapshot = new Map<number, { ms: number; childrenMs: number; command: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(entry);
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 300);
      snapshot.set(Number(entry), {
        ms: ticksMs(Number(fields[11]) + Number(fields[12])),
        childrenMs: ticksMs(Number(fields[13]) + Number(fields[14])), // cutime, cstime
        command,
      });
    } catch {
      // the process ended between the listing and the read
    }
  }
  return snapshot;
}

/**
 * Where the machine's CPU went between two snapshots, by part: the given processes by
 * name, the Kafka broker, Postgres (its backends, and those that ended, counted in the
 * postmaster's reaped children), and the rest. Everything-counted figures need this to
 * say what their CPU is made of.
 */
export function cpuByPart(before: ReturnType<typeof processCpuSnapshot>, after: ReturnType<typeof processCpuSnapshot>, named: ReadonlyMap<number, string>): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const [pid, now] of after) {
    const then = before.get(pid);
    const name =
      named.get(pid) ??
      (/java .*kafka/i.test(now.command) ? 'kafka broker' : /(^|\/)postgres[: ]/.test(now.command) ? 'postgres' : now.command.includes('node') ? 'other node processes' : 'other');
    let ms = now.ms - (then?.ms ?? 0);
    // Postgres backends that ended during the window are in the postmaster's children.
    if (name === 'postgres') ms += now.childrenMs - (then?.childrenMs ?? 0);
    if (ms > 0) parts[name] = (parts[name] ?? 0) + ms;
  }
  return parts;
}
