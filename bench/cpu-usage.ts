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
  /** utime + stime in jiffies per watched pid, and this process's own CPU in microseconds. */
  readonly perProcess: Record<string, number>;
  readonly self: NodeJS.CpuUsage;
}

/** Percent of one core (so 200 % = both cores of a 2-core machine). */
export interface CpuShares {
  readonly self: number;
  readonly processes: Record<string, number>;
  /** Everything on the machine, children (rclone, worker processes) included. */
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
  return { at: performance.now(), machineBusy: total - idle, machineTotal: total, perProcess, self: process.cpuUsage() };
}

export function cpuSince(start: CpuSnapshot, watched: WatchedProcesses): CpuShares {
  const end = cpuSnapshot(watched);
  const seconds = (end.at - start.at) / 1000;
  const cores = os.cpus().length;
  const self = process.cpuUsage(start.self);
  const processes: Record<string, number> = {};
  for (const label of Object.keys(watched)) {
    processes[label] = pct((end.perProcess[label] - start.perProcess[label]) / TICKS_PER_SECOND, seconds);
  }
  const machineShare = (end.machineBusy - start.machineBusy) / Math.max(1, end.machineTotal - start.machineTotal);
  return { self: pct((self.user + self.system) / 1e6, seconds), processes, machine: Math.round(machineShare * cores * 100), cores };
}

/** "node 96 %, minio-src 40 %, … machine 191 % of 200 %" */
export function formatCpu(shares: CpuShares, selfLabel = 'node'): string {
  const parts = [`${selfLabel} ${shares.self}`, ...Object.entries(shares.processes).map(([label, value]) => `${label} ${value}`)];
  return `CPU % of a core: ${parts.join(', ')}; machine ${shares.machine}/${shares.cores * 100}`;
}

/** Pids of the running MinIO servers, found by their data dirs on the command line. */
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
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

function pct(cpuSeconds: number, seconds: number): number {
  return Math.round((cpuSeconds / Math.max(seconds, 1e-9)) * 100);
}
