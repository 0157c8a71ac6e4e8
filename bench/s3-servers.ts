// Local MinIO servers on loopback for the benchmark, and the S3 clients that talk to them.
// Every server binds 127.0.0.1 only; nothing here ever addresses another host.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
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
  /** PEM file of the CA that signed the server's certificate, when the endpoint is https. */
  readonly caFile?: string;
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

/**
 * Whether the servers speak TLS (default; BENCH_TLS=0 for plain http). In Lambda every S3 request
 * is https, and what a copy costs in CPU depends on it: TLS adds AES-GCM on both sides, and lets the
 * engine send parts with an unsigned payload (see src/runtime/engine/payload-signing.ts).
 */
export function benchTls(): boolean {
  return process.env.BENCH_TLS !== '0';
}

const TLS_DIR = path.join(REPO_ROOT, '.bench', 'tls');

/**
 * A self-signed certificate for 127.0.0.1, made once with openssl into .bench/tls (ignored by git)
 * and reused: MinIO serves it (--certs-dir), and every client trusts it as its CA.
 */
export function benchCertificate(): { certFile: string; keyFile: string } {
  const certFile = path.join(TLS_DIR, 'public.crt');
  const keyFile = path.join(TLS_DIR, 'private.key');
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    fs.mkdirSync(TLS_DIR, { recursive: true });
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'ignore' });
  }
  return { certFile, keyFile };
}

/**
 * With TLS on, runs this script again in a child whose NODE_EXTRA_CA_CERTS is the bench's CA, so
 * that clients the bench does not build itself (the replicator's bundle, run in process) trust the
 * servers too; Node 20 reads that variable only at start. True when the child ran: the caller stops.
 */
export function rerunTrustingBenchCa(): boolean {
  if (!benchTls()) return false;
  const { certFile } = benchCertificate();
  if (process.env.NODE_EXTRA_CA_CERTS === certFile) return false;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile },
  });
  process.exitCode = child.status ?? 1;
  return true;
}

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
  const ca = server.caFile ? fs.readFileSync(server.caFile) : undefined;
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
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets, ca }),
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
  const tls = benchTls() ? benchCertificate() : undefined;
  const certsDir = path.join(dir, 'certs');
  if (tls) {
    fs.mkdirSync(certsDir, { recursive: true });
    fs.copyFileSync(tls.certFile, path.join(certsDir, 'public.crt'));
    fs.copyFileSync(tls.keyFile, path.join(certsDir, 'private.key'));
  }
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const child = spawn(binary, [
    'server', path.join(dir, 'data'),
    '--address', `127.0.0.1:${port}`,
    '--console-address', `127.0.0.1:${consolePort}`,
    ...(tls ? ['--certs-dir', certsDir] : []),
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
    await waitUntilLive(endpoint, child, () => logTail, tls?.certFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET_ACCESS_KEY, caFile: tls?.certFile, dataDir: dir, stop };
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

async function waitUntilLive(endpoint: string, child: ChildProcess, logTail: () => string, caFile?: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`minio exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${logTail()}`);
    }
    if (await healthy(`${endpoint}/minio/health/live`, caFile)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`minio at ${endpoint} not live after ${READY_TIMEOUT_MS} ms:\n${logTail()}`);
}

function healthy(url: string, caFile?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const ca = caFile ? fs.readFileSync(caFile) : undefined;
    const req = get(url, { timeout: 1_000, agent: false, ca }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}
