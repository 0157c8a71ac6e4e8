// The machine's MemAvailable while a step runs: the servers keep their data in tmpfs (RAM), so a
// step that slows down for no visible CPU reason may be short of memory rather than of CPU.
import * as fs from 'node:fs';

/** Starts sampling every `intervalMs`; the returned function stops and gives the lowest value seen, in bytes. */
export function watchMemAvailable(intervalMs = 500): () => number {
  let lowest = memAvailable();
  const timer = setInterval(() => { lowest = Math.min(lowest, memAvailable()); }, intervalMs);
  timer.unref(); // never what keeps the process alive after an error
  return () => {
    clearInterval(timer);
    return Math.min(lowest, memAvailable());
  };
}

function memAvailable(): number {
  const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return kib ? Number(kib[1]) * 1024 : Number.NaN;
}

/**
 * Waits (up to `timeoutMs`) until `dir`'s filesystem has `bytes` free. MinIO moves deleted objects
 * and aborted uploads to .minio.sys/tmp/.trash and purges it in the background; on tmpfs that
 * garbage is RAM, and a 4 GiB step started before the purge can starve the whole machine.
 */
export async function waitForFreeSpace(dir: string, bytes: number, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = fs.statfsSync(dir);
    const free = stats.bavail * stats.bsize;
    if (free >= bytes || Date.now() >= deadline) return free;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
