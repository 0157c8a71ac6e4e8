// MinIO doesn't free a deleted object (or an aborted upload) at once: it renames it into
// .minio.sys/tmp/.trash and purges that in the background, first 5 minutes after start (the
// interval MINIO_API_DELETE_CLEANUP_INTERVAL sets only applies from the second purge on). With the
// data in tmpfs, that garbage is RAM: the benchmark writes and deletes ~20 GiB, and a 4 GiB step
// started before the first purge starves the machine (MemAvailable near 0, requests stalling for
// minutes). The servers are private to the benchmark, so it empties their trash itself.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Removes everything in the server's trash; returns the bytes that were in it. */
export function emptyMinioTrash(dataDir: string): number {
  const trash = path.join(dataDir, 'data', '.minio.sys', 'tmp', '.trash');
  let bytes = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync(trash);
  } catch {
    return 0; // not created yet
  }
  for (const entry of entries) {
    const target = path.join(trash, entry);
    bytes += sizeOf(target);
    // MinIO's own purge may remove the same entry meanwhile: force ignores what is already gone.
    fs.rmSync(target, { recursive: true, force: true });
  }
  return bytes;
}

function sizeOf(target: string): number {
  try {
    const stats = fs.lstatSync(target);
    if (!stats.isDirectory()) return stats.size;
    return fs.readdirSync(target).reduce((sum, entry) => sum + sizeOf(path.join(target, entry)), 0);
  } catch {
    return 0;
  }
}
