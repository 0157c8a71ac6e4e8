// Peak resident memory of a piece of work, measured in a child process of its own so that the
// benchmark's servers, clients and earlier runs don't count towards it.
import { Serializable, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import type { PeakMemoryMessage } from './peak-memory-child';

export interface PeakMemoryResult<T> {
  readonly result: T;
  /** RSS of the child after its imports were loaded, before the work started. */
  readonly baselineRssBytes: number;
  /** Highest RSS the child ever reached (VmHWM), imports included. */
  readonly peakRssBytes: number;
}

export interface PeakMemoryOptions {
  /** The worker module's export to call with the args; it must return a promise of JSON. */
  readonly exportName?: string;
  readonly timeoutMs?: number;
  /** Extra node flags for the child, e.g. ['--max-old-space-size=512']. */
  readonly nodeOptions?: string[];
}

const REPO_ROOT = path.resolve(__dirname, '..');
const BUILD_DIR = path.join(REPO_ROOT, '.bench', 'build');

/**
 * Runs `workerModule`'s `runWorker(args)` (or `exportName`) in a fresh node process and returns its
 * result with its baseline and peak RSS. The worker is bundled with esbuild first, as the Lambda
 * functions are, so the child carries no TypeScript compiler that would inflate its memory.
 */
export async function measurePeakMemory<T>(
  workerModule: string, args: unknown, { exportName = 'runWorker', timeoutMs = 30 * 60_000, nodeOptions = [] }: PeakMemoryOptions = {},
): Promise<PeakMemoryResult<T>> {
  const bundle = await bundleWorker(path.resolve(workerModule), exportName);
  const message = await runChild(bundle, args, nodeOptions, timeoutMs);
  if (!message.ok) throw new Error(`worker ${workerModule} failed in its child process:\n${message.error}`);
  return { result: message.result as T, baselineRssBytes: message.baselineRssBytes, peakRssBytes: message.peakRssBytes };
}

async function bundleWorker(workerModule: string, exportName: string): Promise<string> {
  const childModule = path.join(__dirname, 'peak-memory-child.ts');
  const entry = [
    `import { ${exportName} as worker } from ${JSON.stringify(workerModule)};`,
    `import { runPeakMemoryChild } from ${JSON.stringify(childModule)};`,
    'runPeakMemoryChild(worker);',
  ].join('\n');
  const hash = createHash('sha256').update(entry).digest('hex').slice(0, 12);
  const outfile = path.join(BUILD_DIR, `${path.basename(workerModule, '.ts')}-${hash}.js`);
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  // Rebuilt on every call: cheap (well under a second) and never stale after an edit.
  await esbuild.build({
    stdin: { contents: entry, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: 'peak-memory-entry.ts' },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  return outfile;
}

function runChild(bundle: string, args: unknown, nodeOptions: string[], timeoutMs: number): Promise<PeakMemoryMessage> {
  return new Promise((resolve, reject) => {
    // The SDK's "node >= 22 soon" notice would otherwise interleave with the bench's own output.
    const execArgv = ['--disable-warning=NodeVersionSupportWarning', ...nodeOptions];
    const child = fork(bundle, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let message: PeakMemoryMessage | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('message', (m) => { message = m as PeakMemoryMessage; });
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (message) resolve(message);
      else reject(new Error(`worker child exited (${code ?? signal}) without a result${signal === 'SIGKILL' ? ' (timeout or OOM kill)' : ''}`));
    });
    child.send(args as Serializable);
  });
}
