import { ChildProcess, spawn } from 'child_process';
import { existsSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';

/**
 * One moto_server process: one independent emulated AWS "cloud". Two of them are two partitions.
 * moto comes from the project's virtualenv (`npx projen setup:emulators`); it runs through
 * moto_server.py, moto's own server with its per-request overheads patched out (see that file).
 */
export interface MotoServer {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

const MOTO_SERVER = join(__dirname, '..', '..', '..', '.venv', 'bin', 'moto_server');
const PYTHON = join(__dirname, '..', '..', '..', '.venv', 'bin', 'python');
const LAUNCHER = join(__dirname, 'moto_server.py');

export async function startMotoServer(name: string): Promise<MotoServer> {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`${MOTO_SERVER} is missing: run "npx projen setup:emulators" (the test and demo tasks do it for you)`);
  }
  const port = await freePort();
  const child = spawn(PYTHON, [LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Nothing of the developer's AWS setup may leak into the emulator.
    env: { PATH: process.env.PATH ?? '', MOTO_ALLOW_NONEXISTENT_REGION: 'false' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilReady(endpoint, child, name, () => stderr);
  return {
    endpoint,
    process: child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

async function waitUntilReady(endpoint: string, child: ChildProcess, name: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server (${name}) exited with ${child.exitCode}: ${stderr()}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server (${name}) did not answer on ${endpoint} within 30 s: ${stderr()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
