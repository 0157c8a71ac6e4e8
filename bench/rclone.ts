// The rclone baseline: one object copied between the two servers by Debian's rclone (1.60.1).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { S3ServerAddress, s3ClientFor } from './s3-servers';

export interface RcloneObject {
  readonly server: S3ServerAddress;
  readonly bucket: string;
  readonly key: string;
}

export interface RcloneCopyOptions {
  /** Parts uploaded at once (--s3-upload-concurrency); use the engine's concurrency. */
  readonly concurrency: number;
  /** Multipart chunk size (--s3-chunk-size); use the engine's part size. */
  readonly partSize: number;
  readonly timeoutMs?: number;
  readonly rcloneBinary?: string;
}

export interface RcloneCopyResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
}

/**
 * Flags, chosen to give rclone its best chance on one large object:
 * - --s3-chunk-size P, --s3-upload-concurrency C: the same part size and parallelism as the engine.
 *   Sizes carry a "B" suffix: rclone reads a bare number as KiB.
 * - --s3-upload-cutoff P: anything larger than one part goes multipart (default cutoff is 200 MiB).
 * - --s3-disable-checksum: no whole-object MD5 pass before a multipart upload (the engine does none).
 * - --s3-no-check-bucket, --s3-no-head, --no-check-dest: skip the bucket probe, the HEAD after
 *   upload and the destination listing, none of which moves data.
 * - --buffer-size 2P: read-ahead on the source stream, so the uploader is not starved between chunks.
 * - --multi-thread-streams C / --multi-thread-cutoff P: kept for fairness, but in 1.60.1 multi-thread
 *   download only happens when the destination can write at offsets (a local disk); remote to remote
 *   the source is read by one GET stream, which is rclone's real limit here.
 * Server-side copy is never used: the remotes differ and --server-side-across-configs is not set.
 */
export async function rcloneCopy(src: RcloneObject, dst: RcloneObject, options: RcloneCopyOptions): Promise<RcloneCopyResult> {
  const { concurrency, partSize, timeoutMs = 30 * 60_000, rcloneBinary = 'rclone' } = options;
  const size = await objectSize(src);
  const args = [
    'copyto', `src:${src.bucket}/${src.key}`, `dst:${dst.bucket}/${dst.key}`,
    '--s3-chunk-size', `${partSize}B`,
    '--s3-upload-concurrency', String(concurrency),
    '--s3-upload-cutoff', `${partSize}B`,
    '--s3-disable-checksum',
    '--s3-no-check-bucket',
    '--s3-no-head',
    '--no-check-dest',
    '--buffer-size', `${2 * partSize}B`,
    '--multi-thread-streams', String(concurrency),
    '--multi-thread-cutoff', `${partSize}B`,
    '--retries', '1',
    '--low-level-retries', '1',
    '--log-level', 'ERROR',
    // The servers' self-signed CA under TLS (one CA for both: rclone's flag is global).
    ...(src.server.caFile ? ['--ca-cert', src.server.caFile] : []),
  ];
  const start = performance.now();
  await run(rcloneBinary, args, rcloneEnv(src.server, dst.server), timeoutMs);
  const seconds = (performance.now() - start) / 1000;

  const copied = await objectSize(dst);
  if (copied !== size) throw new Error(`rclone copied ${copied} bytes of ${size}`);
  return { bytes: size, seconds, bytesPerSecond: size / seconds };
}

/** Remotes `src:` and `dst:` defined only through the environment; no config file is read or written. */
function rcloneEnv(src: S3ServerAddress, dst: S3ServerAddress): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RCLONE_CONFIG: '/dev/null' };
  // rclone's aws-sdk-go reads AWS_* itself: an AWS_CA_BUNDLE makes 1.60.1 refuse to start
  // ("unsupported transport, *fshttp.Transport"), and a proxy must never see loopback traffic.
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_') || /^(https?|all|no)_proxy$/i.test(name)) delete env[name];
  }
  for (const [name, server] of [['SRC', src], ['DST', dst]] as const) {
    const prefix = `RCLONE_CONFIG_${name}_`;
    env[`${prefix}TYPE`] = 's3';
    env[`${prefix}PROVIDER`] = 'Minio';
    env[`${prefix}ENV_AUTH`] = 'false';
    env[`${prefix}ENDPOINT`] = server.endpoint;
    env[`${prefix}ACCESS_KEY_ID`] = server.accessKeyId;
    env[`${prefix}SECRET_ACCESS_KEY`] = server.secretAccessKey;
    env[`${prefix}REGION`] = 'us-east-1';
    env[`${prefix}FORCE_PATH_STYLE`] = 'true';
  }
  // rclone may create a cache dir; keep it out of the home dir.
  env.RCLONE_CACHE_DIR = path.join(os.tmpdir(), 'bench-rclone-cache');
  return env;
}

async function objectSize(object: RcloneObject): Promise<number> {
  const client = s3ClientFor(object.server, 1);
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key }));
    return head.ContentLength ?? 0;
  } finally {
    client.destroy();
  }
}

/** The installed rclone's first line of `rclone version`, e.g. "rclone v1.60.1-DEV". */
export async function rcloneVersion(rcloneBinary = 'rclone'): Promise<string> {
  const out = await run(rcloneBinary, ['version'], { ...process.env, RCLONE_CONFIG: '/dev/null' }, 10_000);
  return out.split('\n')[0].trim();
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-8_000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${path.basename(binary)} ${args[0]} failed (${code ?? signal}):\n${stderr}`));
    });
  });
}

/** Whether rclone can be found, so a long run can fail early with a hint to run setup-bench.sh. */
export function rcloneOnPath(rcloneBinary = 'rclone'): boolean {
  if (rcloneBinary.includes('/')) return fs.existsSync(rcloneBinary);
  return (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(path.join(dir, rcloneBinary)));
}
