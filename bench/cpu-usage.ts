// CPU used during a measurement, per process and for the whole machine, read from /proc: on a
// 2-core machine the copy, both servers and the client share the cores, and these numbers show
// whether a rate is limited by CPU rather than by the engine's design.
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Processes to account separately, by label (e.g. the two MinIO servers). */
export type WatchedProcesses = Record<string, number>;

export interface CpuSnapshot {
  readonly at: number;
  /** Busy and total jiffies of the whole machine (all cores). */
  readonly machineBusy: number;
  readonly machineTotal: number;
  /** utime + stime in jiffies per watched pid. */
  readonly perProcess: Record<string, number>;
  /** This process (utime + stime) and its finished children (cutime + cstime: rclone, workers), jiffies. */
  readonly self: number;
  readonly children: number;
}

/** Percent of one core (so 200 % = both cores of a 2-core machine). */
export interface CpuShares {
  readonly self: number;
  /** Child processes that ran and exited meanwhile (rclone, peak-memory workers). */
  readonly children: number;
  readonly processes: Record<string, number>;
  /** Everything on the machine that isn't this benchmark: other jobs sharing the cores. */
  readonly others: number;
  /** Everything on the machine. */
  readonly machine: number;
  readonly cores: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function cpuSnapshot(watched: WatchedProcesses): CpuSnapshot {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4];
  const perProcess: Record<string, number> = {};
  for (const [label, pid] of Object.entries(watched)) perProcess[label] = processJiffies(pid);
  const own = processTimes('self');
  return { at: performance.now(), machineBusy: total - idle, machineTotal: total, perProcess, self: own[0] + own[1], children: own[2] + own[3] };
}

export function cpuSince(start: CpuSnapshot, watched: WatchedProcesses): CpuShares {
  const end = cpuSnapshot(watched);
  const seconds = (end.at - start.at) / 1000;
  const cores = os.cpus().length;
  const share = (jiffies: number) => pct(jiffies / TICKS_PER_SECOND, seconds);
  const processes: Record<string, number> = {};
  let ours = (end.self - start.self) + (end.children - start.children);
  for (const label of Object.keys(watched)) {
    const used = end.perProcess[label] - start.perProcess[label];
    ours += used;
    processes[label] = share(used);
  }
  const machineShare = (end.machineBusy - start.machineBusy) / Math.max(1, end.machineTotal - start.machineTotal);
  const machine = Math.round(machineShare * cores * 100);
  return {
    self: share(end.self - start.self),
    children: share(end.children - start.children),
    processes,
    others: Math.max(0, machine - share(ours)),
    machine,
    cores,
  };
}

/** "CPU % of a core: node 96, MinIO A 40, …; not this bench 3; machine 191/200" */
export function formatCpu(shares: CpuShares, selfLabel = 'node', childrenLabel = 'child'): string {
  const parts = [
    `${selfLabel} ${shares.self}`,
    ...(shares.children > 0 ? [`${childrenLabel} ${shares.children}`] : []),
    ...Object.entries(shares.processes).map(([label, value]) => `${label} ${value}`),
  ];
  return `CPU % of a core: ${parts.join(', ')}; not this bench ${shares.others}; machine ${shares.machine}/${shares.cores * 100}`;
}

/** Share of the machine (percent of one core) busy over `ms`: to wait for other jobs to finish before measuring. */
export async function machineBusy(ms: number): Promise<number> {
  const start = cpuSnapshot({});
  await new Promise((resolve) => setTimeout(resolve, ms));
  return cpuSince(start, {}).machine;
}

/** The benchmark's server processes to watch: the two MinIO servers (by their data folders) and moto. */
export function serverProcesses(src: { dataDir: string }, dst: { dataDir: string }, moto: { pid?: number }): WatchedProcesses {
  const watched: WatchedProcesses = {};
  for (const [label, server] of [['MinIO A', src], ['MinIO B', dst]] as const) {
    const pid = findServerPid(server.dataDir);
    if (pid) watched[label] = pid;
  }
  if (moto.pid) watched.moto = moto.pid;
  return watched;
}

/** The pid of the running MinIO server whose data dir is on its command line. */
export function findServerPid(dataDir: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(dataDir) && cmdline.includes('server')) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

function processJiffies(pid: number): number {
  const [utime, stime] = processTimes(String(pid));
  return utime + stime;
}

/** utime, stime, cutime, cstime of a process, in jiffies; zeros once it is gone. */
function processTimes(pid: string): [number, number, number, number] {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(rest[11]), Number(rest[12]), Number(rest[13]), Number(rest[14])];
  } catch {
    return [0, 0, 0, 0];
  }
}

function pct(cpuSeconds: number, seconds: number): number {
  return Math.round((cpuSeconds / Math.max(seconds, 1e-9)) * 100);
}

/**
 * CPU time this benchmark's processes spent per GiB moved (core-seconds per GiB): unlike a rate,
 * it doesn't depend on how much of the machine other jobs took meanwhile.
 */
export function cpuSecondsPerGiB(shares: CpuShares, seconds: number, bytes: number): number {
  const percent = shares.self + shares.children + Object.values(shares.processes).reduce((a, b) => a + b, 0);
  return ((percent / 100) * seconds) / (bytes / 2 ** 30);
}

/**
 * Core-seconds per GiB of one measurement, by process: the copier (this process for an in-process
 * copy, or the child that ran and exited meanwhile, rclone's, with `copier: 'children'`) apart
 * from the servers it talked to (each watched process by its label). In Lambda only the copier's
 * CPU is paid for; the servers' is S3's.
 */
export function coreSecondsPerGiB(
  shares: CpuShares, seconds: number, bytes: number, copier: 'self' | 'children',
): { readonly copier: number; readonly processes: Record<string, number> } {
  const perGiB = (percent: number) => ((percent / 100) * seconds) / (bytes / 2 ** 30);
  const processes: Record<string, number> = {};
  for (const [label, percent] of Object.entries(shares.processes)) processes[label] = perGiB(percent);
  return { copier: perGiB(copier === 'self' ? shares.self : shares.children), processes };
}
