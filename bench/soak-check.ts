// The soak's workload and its end check, as pure functions: what to write (a seeded mix of new
// keys, overwrites and deletes) and, from the listings of both buckets, the version map and the
// queues' counts, every lost, duplicated or stale replica, each named by its key.

import { prng } from '../test/support/seeded-random';

/** One write to the source bucket. */
export interface SoakOperation {
  readonly kind: 'new' | 'overwrite' | 'delete';
  readonly key: string;
  /** Body size in bytes (puts). */
  readonly size: number;
}

/** Shares of the mix: the rest (0.6) are new keys. */
export const OVERWRITE_SHARE = 0.3;
export const DELETE_SHARE = 0.1;
/** Overwrites and deletes pick among the most recently created keys, so a key gets several versions close together. */
export const HOT_KEYS = 50;

/**
 * `operations` writes decided by `seed`: 60 % new keys, 30 % overwrites, 10 % deletes (a delete
 * marker; a later overwrite brings the key back), bodies of 256 B to 4 KiB.
 */
export function soakWorkload(operations: number, seed: number, prefix: string): SoakOperation[] {
  const random = prng(seed);
  const keys: string[] = [];
  const workload: SoakOperation[] = [];
  for (let i = 0; i < operations; i++) {
    const draw = random();
    const size = 256 + Math.floor(random() * 3841);
    const kind = keys.length === 0 || draw >= OVERWRITE_SHARE + DELETE_SHARE ? 'new' : draw < OVERWRITE_SHARE ? 'overwrite' : 'delete';
    if (kind === 'new') keys.push(`${prefix}${String(keys.length).padStart(6, '0')}`);
    const recent = Math.min(HOT_KEYS, keys.length);
    const key = kind === 'new' ? keys[keys.length - 1] : keys[keys.length - 1 - Math.floor(random() * recent)];
    workload.push({ kind, key, size });
  }
  return workload;
}

/**
 * The message groups batches hold while their invocations run. FIFO hands a group to one consumer
 * at a time; `enter` returns the groups of a batch that another batch still holds (a violation).
 */
export class GroupsInFlight {
  private readonly held = new Map<string, number>();

  enter(groups: readonly string[]): string[] {
    const distinct = [...new Set(groups)];
    const shared = distinct.filter((group) => this.held.has(group));
    for (const group of distinct) this.held.set(group, (this.held.get(group) ?? 0) + 1);
    return shared;
  }

  leave(groups: readonly string[]): void {
    for (const group of new Set(groups)) {
      const count = (this.held.get(group) ?? 0) - 1;
      if (count > 0) this.held.set(group, count);
      else this.held.delete(group);
    }
  }
}

/** A version or delete marker as ListObjectVersions returns it (newest first per key). */
export interface ListedVersion {
  readonly key: string;
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly isLatest: boolean;
  readonly eTag?: string;
}

/** An item of the version map (a key's head or a version's own item). */
export interface MapRecord {
  readonly key: string;
  readonly sourceVersionId: string;
  readonly destinationVersionId?: string;
}

export interface SoakState {
  readonly source: readonly ListedVersion[];
  readonly destination: readonly ListedVersion[];
  readonly map: readonly MapRecord[];
  /** Messages still on the replication queue (visible, in flight or delayed). */
  readonly queued: number;
  /** Messages on the dead-letter queues. */
  readonly deadLettered: number;
}

export interface SoakFindings {
  readonly keys: number;
  readonly sourceVersions: number;
  readonly destinationVersions: number;
  /** Distinct (source version, destination version) pairs in the version map. */
  readonly mappedReplicas: number;
  readonly violations: string[];
}

const describe = (version: ListedVersion | undefined) => (!version ? 'nothing' : version.isDeleteMarker ? 'a delete marker' : `version ${version.versionId}`);

/**
 * Every key's destination against its source: the current entry the same (same ETag, or deleted or
 * absent on both), and a replica of the source's current version (never an older one: stale); every
 * destination version recorded in the version map for exactly one source version, and no source
 * version mapped to two destination versions (duplicated); every recorded replica present (lost);
 * nothing left on the queue or the dead-letter queues.
 */
export function checkSoak(state: SoakState): SoakFindings {
  const violations: string[] = [];
  const byKey = (versions: readonly ListedVersion[]) => {
    const grouped = new Map<string, ListedVersion[]>();
    for (const version of versions) grouped.set(version.key, [...grouped.get(version.key) ?? [], version]);
    return grouped;
  };
  const source = byKey(state.source);
  const destination = byKey(state.destination);
  const recordsOf = new Map<string, Map<string, Set<string>>>(); // key -> source version -> destination versions
  const sourcesOf = new Map<string, Map<string, Set<string>>>(); // key -> destination version -> source versions
  const add = (into: Map<string, Map<string, Set<string>>>, key: string, from: string, to: string) => {
    const perKey = into.get(key) ?? new Map<string, Set<string>>();
    into.set(key, perKey);
    perKey.set(from, (perKey.get(from) ?? new Set<string>()).add(to));
  };
  for (const record of state.map) {
    if (record.destinationVersionId === undefined) continue;
    add(recordsOf, record.key, record.sourceVersionId, record.destinationVersionId);
    add(sourcesOf, record.key, record.destinationVersionId, record.sourceVersionId);
  }
  let mappedReplicas = 0;
  for (const perKey of recordsOf.values()) for (const targets of perKey.values()) mappedReplicas += targets.size;

  const keys = new Set([...source.keys(), ...destination.keys()]);
  for (const key of [...keys].sort()) {
    const sourceVersions = source.get(key) ?? [];
    const destinationVersions = destination.get(key) ?? [];
    const sourceCurrent = sourceVersions.find((version) => version.isLatest);
    const destinationCurrent = destinationVersions.find((version) => version.isLatest);
    const sourceDeleted = !sourceCurrent || sourceCurrent.isDeleteMarker;
    const destinationDeleted = !destinationCurrent || destinationCurrent.isDeleteMarker;
    const replicaOf = destinationCurrent ? [...sourcesOf.get(key)?.get(destinationCurrent.versionId) ?? []] : [];
    if (sourceDeleted !== destinationDeleted) {
      violations.push(`${key}: the source's current entry is ${describe(sourceCurrent)}, the destination's ${describe(destinationCurrent)}`
        + (replicaOf.length ? ` (a replica of source version ${replicaOf.join(', ')})` : '') + (sourceDeleted ? '' : ' (lost)'));
    } else if (!sourceDeleted && destinationCurrent!.eTag !== sourceCurrent!.eTag) {
      violations.push(`${key}: the destination's current ETag ${destinationCurrent!.eTag} differs from the source's ${sourceCurrent!.eTag}`);
    }
    if (sourceCurrent && destinationCurrent && replicaOf.length === 1 && replicaOf[0] !== sourceCurrent.versionId) {
      const age = sourceVersions.findIndex((version) => version.versionId === replicaOf[0]);
      violations.push(`${key}: stale replica: the destination's current entry is a replica of source version ${replicaOf[0]}`
        + ` (${age < 0 ? 'no longer at the source' : `${age} versions older`}), the source's current is ${sourceCurrent.versionId}`);
    }
    for (const version of destinationVersions) {
      const from = [...sourcesOf.get(key)?.get(version.versionId) ?? []];
      if (from.length === 0) violations.push(`${key}: destination ${describe(version)} is in no record of the version map (a duplicate or stray copy)`);
      if (from.length > 1) violations.push(`${key}: destination ${describe(version)} is recorded as the replica of ${from.length} source versions (${from.join(', ')})`);
    }
    const present = new Set(destinationVersions.map((version) => version.versionId));
    for (const [from, targets] of recordsOf.get(key) ?? []) {
      if (targets.size > 1) violations.push(`${key}: source version ${from} is replicated to ${targets.size} destination versions (${[...targets].join(', ')})`);
      for (const target of targets) {
        if (!present.has(target)) violations.push(`${key}: the replica ${target} of source version ${from} is recorded but not at the destination (lost)`);
      }
    }
  }
  if (state.queued > 0) violations.push(`${state.queued} messages left on the replication queue`);
  if (state.deadLettered > 0) violations.push(`${state.deadLettered} messages on the dead-letter queues`);
  return { keys: keys.size, sourceVersions: state.source.length, destinationVersions: state.destination.length, mappedReplicas, violations };
}

/** The replication queue's approximate counts. */
export interface QueueCounts {
  readonly visible: number;
  readonly notVisible: number;
  readonly delayed: number;
}

/** A replicator invocation: its batch's messages and when it started (or how it ended). */
export interface InvocationRecord {
  readonly id: number;
  readonly messages: ReadonlyArray<{ readonly messageId: string; readonly group: string; readonly key: string }>;
  readonly startedMs: number;
  /** Why it failed as a whole (a timeout, a sandbox that exited), if it did. */
  readonly failure?: string;
}

/** A message seen on the queue when the run stopped (received once for the report). */
export interface QueuedMessage {
  readonly group: string;
  readonly key: string;
  readonly kind: string;
  readonly receiveCount: number;
}

/**
 * Why the queue did not drain, line by line: the queue's counts, the invocations still running
 * (their groups and keys, and for how long), those that failed as a whole, the messages in flight
 * that no running invocation holds (hidden behind the visibility timeout: handed back with a delay,
 * or from an invocation that failed or was lost), and the messages still visible, by group.
 */
export function stuckReport(counts: QueueCounts, running: readonly InvocationRecord[], failed: readonly InvocationRecord[],
  visible: readonly QueuedMessage[], nowMs: number): string[] {
  const lines = [`replication queue: ${counts.visible} visible, ${counts.notVisible} in flight, ${counts.delayed} delayed`];
  const keysOf = (invocation: InvocationRecord) => {
    const groups = new Map<string, string>();
    for (const message of invocation.messages) groups.set(message.group, message.key);
    return [...groups].map(([group, key]) => `${key} (group ${group})`).join(', ');
  };
  for (const invocation of running) {
    lines.push(`invocation ${invocation.id} still running after ${((nowMs - invocation.startedMs) / 1000).toFixed(0)} s with `
      + `${invocation.messages.length} messages: ${keysOf(invocation)}`);
  }
  for (const invocation of failed) {
    lines.push(`invocation ${invocation.id} failed as a whole (${invocation.failure}); its ${invocation.messages.length} messages `
      + `return after the visibility timeout: ${keysOf(invocation)}`);
  }
  const held = running.reduce((sum, invocation) => sum + invocation.messages.length, 0);
  if (counts.notVisible > held) {
    lines.push(`${counts.notVisible - held} messages in flight that no running invocation holds: hidden until their visibility timeout `
      + 'or retry delay ends (handed back, or from a failed or lost invocation); their groups are blocked meanwhile');
  }
  const groups = new Map<string, QueuedMessage[]>();
  for (const message of visible) groups.set(message.group, [...groups.get(message.group) ?? [], message]);
  if (groups.size > 0) {
    lines.push(`${visible.length} visible messages received for this report, in ${groups.size} groups: `
      + [...groups].slice(0, 20).map(([group, messages]) => `group ${group}: ${messages.map((m) => `${m.kind} ${m.key} (received ${m.receiveCount}x)`).join(', ')}`).join('; ')
      + (groups.size > 20 ? `; and ${groups.size - 20} more groups` : ''));
  }
  return lines;
}
