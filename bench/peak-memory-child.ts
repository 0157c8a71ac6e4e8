// Runs inside the child that measurePeakMemory forks: it is bundled together with the worker module,
// so by the time this runs every import is loaded and the RSS taken first is the baseline.
import * as fs from 'node:fs';

export type WorkerFunction = (args: unknown) => Promise<unknown>;

export type PeakMemoryMessage =
  | { ok: true; result: unknown; baselineRssBytes: number; peakRssBytes: number }
  | { ok: false; error: string; baselineRssBytes: number; peakRssBytes: number };

/** Waits for the args over IPC, runs the worker, reports result and memory, then exits. */
export function runPeakMemoryChild(worker: WorkerFunction): void {
  const baselineRssBytes = process.memoryUsage().rss;
  process.once('message', (args: unknown) => {
    worker(args).then(
      (result) => report({ ok: true, result, baselineRssBytes, peakRssBytes: peakRssBytes() }),
      (err: unknown) => report({
        ok: false,
        error: err instanceof Error ? err.stack ?? err.message : String(err),
        baselineRssBytes,
        peakRssBytes: peakRssBytes(),
      }),
    );
  });
}

function report(message: PeakMemoryMessage): void {
  // Exit only once the message is handed over, so the parent never sees an exit without a result.
  process.send!(message, () => process.exit(message.ok ? 0 : 1));
}

/** The kernel's high-water mark of this process's RSS (VmHWM); getrusage's maxRSS where there is no /proc. */
export function peakRssBytes(): number {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    if (kib) return Number(kib[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
