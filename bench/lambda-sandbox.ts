// Lambda sandboxes for the soak: each a child process that loads a bundled handler in its own
// environment and runs one invocation at a time, as a Lambda instance does. Concurrent invocations
// cannot share one process: the demo's `invoke` (scripts/demo/lambda-invocation.ts) sets the whole
// process environment and captures its output for the duration of an invocation.
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import type { DeployedFunction } from '../scripts/demo/lambda-invocation';

export interface Invocation {
  readonly result: unknown;
  readonly lines: string[];
}

/** What the parent sends: the function once, then events. */
export type SandboxRequest = { readonly fn: Omit<DeployedFunction, 'handler'> } | { readonly id: number; readonly event: unknown };
/** What the child answers for an event. */
export type SandboxResponse = { readonly id: number; readonly result?: unknown; readonly lines?: string[]; readonly error?: string };

const CHILD = path.join(__dirname, 'lambda-sandbox-child.ts');
const ROOT = path.join(__dirname, '..');

/** One sandbox: a child process running one invocation at a time. */
class Sandbox {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: Invocation) => void; reject: (error: Error) => void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: SandboxResponse) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`handler failed in its sandbox: ${message.error}`));
      else waiter.resolve({ result: message.result, lines: message.lines ?? [] });
    });
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`sandbox exited with ${code}`));
      this.pending.clear();
    });
  }

  invoke(event: unknown): Promise<Invocation> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, event } satisfies SandboxRequest);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.disconnect();
    });
  }
}

/**
 * `size` sandboxes of one function: `invoke` runs an event in an idle one (waiting for one if all
 * are busy), as Lambda runs concurrent invocations in separate instances.
 */
export class SandboxPool {
  static start(fn: DeployedFunction, size: number): SandboxPool {
    const { handler: _loaded, ...plain } = fn;
    const sandboxes = Array.from({ length: size }, () => {
      const child = fork(CHILD, [], {
        cwd: ROOT,
        execArgv: ['-r', 'ts-node/register/transpile-only'],
        env: { PATH: process.env.PATH ?? '', TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.dev.json'), NODE_NO_WARNINGS: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.send({ fn: plain } satisfies SandboxRequest);
      return new Sandbox(child);
    });
    return new SandboxPool(sandboxes);
  }

  private readonly idle: Sandbox[];
  private readonly waiting: Array<(sandbox: Sandbox) => void> = [];

  private constructor(private readonly sandboxes: Sandbox[]) {
    this.idle = [...sandboxes];
  }

  readonly invoke = async (event: unknown): Promise<Invocation> => {
    const sandbox = this.idle.pop() ?? await new Promise<Sandbox>((resolve) => this.waiting.push(resolve));
    try {
      return await sandbox.invoke(event);
    } finally {
      const next = this.waiting.shift();
      if (next) next(sandbox);
      else this.idle.push(sandbox);
    }
  };

  /** The sandboxes' process ids (to account their CPU). */
  get pids(): number[] {
    return this.sandboxes.map((sandbox) => sandbox.child.pid!);
  }

  async stop(): Promise<void> {
    await Promise.all(this.sandboxes.map((sandbox) => sandbox.stop()));
  }
}
