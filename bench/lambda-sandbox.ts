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

/**
 * An invocation that ran past the function's timeout: Lambda stops it and the batch fails as a
 * whole (its messages come back after the queue's visibility timeout). Names the sandbox.
 */
export class InvocationTimeout extends Error {
  constructor(readonly sandboxPid: number | undefined, readonly timeoutMs: number) {
    super(`invocation timed out after ${timeoutMs / 1000} s in the sandbox of process ${sandboxPid}; the sandbox was stopped`);
    this.name = 'InvocationTimeout';
  }
}

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
    child.on('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`sandbox exited with ${code ?? signal}`));
      this.pending.clear();
    });
  }

  /** Whether the child can still run invocations (not killed after a timeout, not exited). */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.child.killed;
  }

  /**
   * Runs `event`; past `timeoutMs` the child is killed, as Lambda ends an instance whose invocation
   * times out, and the invocation fails with `InvocationTimeout`.
   */
  invoke(event: unknown, timeoutMs: number): Promise<Invocation> {
    const id = this.nextId++;
    return new Promise<Invocation>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.child.kill('SIGKILL');
        reject(new InvocationTimeout(this.child.pid, timeoutMs));
      }, timeoutMs);
      const settle = <T>(done: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        done(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.child.send({ id, event } satisfies SandboxRequest);
    });
  }

  /** Asks the child to exit after its invocation; kills it if it has not after `graceMs` (a hung invocation). */
  stop(graceMs = 5_000): Promise<void> {
    return new Promise((resolve) => {
      if (!this.alive) return resolve();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.child.connected) this.child.disconnect();
    });
  }
}

/**
 * `size` sandboxes of one function: `invoke` runs an event in an idle one (waiting for one if all
 * are busy), as Lambda runs concurrent invocations in separate instances. Each invocation has the
 * function's timeout (or `timeoutMs`); a sandbox stopped by a timeout or gone is replaced by a new
 * one (a cold start), as Lambda does.
 */
export class SandboxPool {
  static start(fn: DeployedFunction, size: number, timeoutMs = fn.timeoutSeconds * 1000): SandboxPool {
    const { handler: _loaded, ...plain } = fn;
    const spawn = () => {
      const child = fork(CHILD, [], {
        cwd: ROOT,
        execArgv: ['-r', 'ts-node/register/transpile-only'],
        env: { PATH: process.env.PATH ?? '', TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.dev.json'), NODE_NO_WARNINGS: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.send({ fn: plain } satisfies SandboxRequest);
      return new Sandbox(child);
    };
    return new SandboxPool(Array.from({ length: size }, spawn), spawn, timeoutMs);
  }

  private readonly idle: Sandbox[];
  private readonly waiting: Array<(sandbox: Sandbox) => void> = [];

  private constructor(private readonly sandboxes: Sandbox[], private readonly spawn: () => Sandbox, readonly timeoutMs: number) {
    this.idle = [...sandboxes];
  }

  readonly invoke = async (event: unknown): Promise<Invocation> => {
    const sandbox = this.idle.pop() ?? await new Promise<Sandbox>((resolve) => this.waiting.push(resolve));
    try {
      return await sandbox.invoke(event, this.timeoutMs);
    } finally {
      const next = sandbox.alive ? sandbox : this.replace(sandbox);
      const waiter = this.waiting.shift();
      if (waiter) waiter(next);
      else this.idle.push(next);
    }
  };

  private replace(dead: Sandbox): Sandbox {
    const fresh = this.spawn();
    this.sandboxes[this.sandboxes.indexOf(dead)] = fresh;
    return fresh;
  }

  /** The sandboxes' process ids (to account their CPU): those running now. */
  get pids(): number[] {
    return this.sandboxes.map((sandbox) => sandbox.child.pid!);
  }

  async stop(): Promise<void> {
    await Promise.all(this.sandboxes.map((sandbox) => sandbox.stop()));
  }
}
