// The lines printed under the results: a number means little without the machine it came from.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rcloneVersion } from './rclone';
import { minioBinary } from './s3-servers';
import { GiB, formatBytes } from './test-data';

const REPO_ROOT = path.resolve(__dirname, '..');

export async function machineContext(dataDir: string): Promise<string[]> {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return [
    `CPU: ${cpuModel}, ${os.cpus().length} cores; RAM ${(os.totalmem() / GiB).toFixed(1)} GiB; ${os.type()} ${os.release()}`,
    `Node ${process.version}; MinIO ${minioModuleVersion()}; ${await rcloneVersion()}`,
    `Server data: ${dataDir} (${isTmpfs(dataDir) ? 'tmpfs: no disk, no fsync cost' : 'disk'}); everything on 127.0.0.1`,
    `Engine under test: ${sourceRevision()}`,
  ];
}

/** The commit the engine's code comes from, and whether src/ has uncommitted changes (read-only git commands). */
function sourceRevision(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const changed = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
    return `src/ at commit ${git('rev-parse', '--short', 'HEAD')}${changed ? ` with ${changed} uncommitted file change(s) in src/` : ', no uncommitted changes'}`;
  } catch {
    return 'not a git checkout';
  }
}

/** The module version the MinIO binary was built from (scripts/setup-bench.sh pins it). */
function minioModuleVersion(): string {
  try {
    const info = execFileSync('go', ['version', '-m', minioBinary()], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const mod = /^\s*mod\s+github\.com\/minio\/minio\s+(\S+)/m.exec(info);
    if (mod) return `github.com/minio/minio@${mod[1]}`;
  } catch {
    // no Go toolchain: fall back to what the binary says
  }
  try {
    return execFileSync(minioBinary(), ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

function isTmpfs(dir: string): boolean {
  try {
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' '));
    const best = mounts.filter(([, mountPoint]) => mountPoint && (dir === mountPoint || dir.startsWith(`${mountPoint.replace(/\/$/, '')}/`)))
      .sort((a, b) => b[1].length - a[1].length)[0];
    return best?.[2] === 'tmpfs';
  } catch {
    return false;
  }
}

/** Where the servers keep their data: tmpfs (BENCH_DATA_DIR=/dev/shm) when it has room, else the disk. */
export function chooseDataDir(neededBytes: number): { dir: string; why: string } {
  if (process.env.BENCH_DATA_DIR) return { dir: process.env.BENCH_DATA_DIR, why: 'BENCH_DATA_DIR' };
  try {
    const stats = fs.statfsSync('/dev/shm');
    const free = stats.bavail * stats.bsize;
    if (free >= neededBytes) return { dir: '/dev/shm', why: `/dev/shm has ${formatBytes(free)} free` };
    return { dir: os.tmpdir(), why: `/dev/shm has only ${formatBytes(free)} free (< ${formatBytes(neededBytes)})` };
  } catch {
    return { dir: os.tmpdir(), why: 'no /dev/shm' };
  }
}
