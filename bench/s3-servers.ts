// Local MinIO servers on loopback for the benchmark, and the S3 clients that talk to them.
// Every server binds 127.0.0.1 only; nothing here ever addresses another host.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Fixed test credentials: the servers are private to this process and die with it. */
export const BENCH_ACCESS_KEY_ID = 'benchadmin';
export const BENCH_SECRET_ACCESS_KEY = 'benchadmin-secret-key';

/** What a client (or a child process, or rclone) needs to reach a server: plain JSON. */
export interface S3ServerAddress {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface S3Server extends S3ServerAddress {
  readonly dataDir: string;
  /** Kills the server and removes its data dir. Safe to call twice. */
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '..');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_TAIL_CHARS = 8_000;

/** The binary scripts/setup-bench.sh builds; MINIO_BIN overrides it. */
export function minioBinary(): string {
  return process.env.MINIO_BIN || path.join(REPO_ROOT, '.bench', 'bin', 'minio');
}

/** Starts `count` independent servers, each with its own fresh data dir. */
export async function startS3Servers(count: number): Promise<S3Server[]> {
  const servers: S3Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await startMinio());
    return servers;
  } catch (err) {
    await stopAll(servers);
    throw err;
  }
}

/** Runs `fn` with `count` servers and stops them afterwards, whether `fn` succeeds or throws. */
export async function withS3Servers<T>(count: number, fn: (servers: S3Server[]) => Promise<T>): Promise<T> {
  const servers = await startS3Servers(count);
  try {
    return await fn(servers);
  } finally {
    await stopAll(servers);
  }
}

export async function stopAll(servers: readonly S3Server[]): Promise<void> {
  await Promise.allSettled(servers.map((s) => s.stop()));
}

/** One client per server; the agent's socket pool must not be the bottleneck at `maxSockets` in flight. */
export function s3ClientFor(server: S3ServerAddress, maxSockets = 64): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    // The SDK's default CRC32 on every request would cost CPU that neither rclone nor the raw limit pays.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
      connectionTimeout: 5_000,
      requestTimeout: 120_000,
    }),
  });
}

/** Creates a bucket with versioning enabled, as the replicated buckets are. */
export async function createVersionedBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new PutBucketVersioningCommand({
    Bucket: bucket,
    VersioningConfiguration: { Status: 'Enabled' },
  }));
}

// Servers still running when the process exits (error, Ctrl-C) are killed synchronously here.
const live = new Map<ChildProcess, string>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const [child, dir] of live) {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
  }
}

async function startMinio(): Promise<S3Server> {
  installExitHooks();
  const binary = minioBinary();
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} not found: run scripts/setup-bench.sh first`);
  }
  // A port can be taken between probing and binding, so a failed start is retried on fresh ports.
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startMinioOnce(binary);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startMinioOnce(binary: string): Promise<S3Server> {
  // BENCH_DATA_DIR=/dev/shm takes the disk (MinIO syncs every write) out of the numbers.
  const dataRoot = process.env.BENCH_DATA_DIR || os.tmpdir();
  fs.mkdirSync(dataRoot, { recursive: true });
  const dir = fs.mkdtempSync(path.join(dataRoot, 'bench-minio-'));
  const port = await freeLoopbackPort();
  const consolePort = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(binary, [
    'server', path.join(dir, 'data'),
    '--address', `127.0.0.1:${port}`,
    '--console-address', `127.0.0.1:${consolePort}`,
    '--quiet',
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MINIO_ROOT_USER: BENCH_ACCESS_KEY_ID,
      MINIO_ROOT_PASSWORD: BENCH_SECRET_ACCESS_KEY,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
    },
  });
  live.set(child, dir);

  // Output must be drained or the server blocks on a full pipe; the tail explains a failed start.
  let logTail = '';
  const keepTail = (chunk: Buffer) => { logTail = (logTail + chunk.toString()).slice(-LOG_TAIL_CHARS); };
  child.stdout!.on('data', keepTail);
  child.stderr!.on('data', keepTail);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    await waitUntilLive(endpoint, child, () => logTail);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET_ACCESS_KEY, dataDir: dir, stop };
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

async function waitUntilLive(endpoint: string, child: ChildProcess, logTail: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`minio exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logTail()}`);
    }
    if (await healthy(`${endpoint}/minio/health/live`)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`minio at ${endpoint} not live after ${READY_TIMEOUT_MS} ms:\n${logTail()}`);
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1_000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}
