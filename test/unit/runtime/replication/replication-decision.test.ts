import {
  ObjectCreatedMessage,
  ObjectDeletedMessage,
  ObjectTagsChangedMessage,
  ReplicationMessage,
} from '../../../../src/runtime/contract/replication-message';
import { EVERY_KEY } from '../../../../src/runtime/contract/replication-scope';
import { compareSequencers } from '../../../../src/runtime/contract/sequencer';
import {
  decide,
  Decision,
  KeyHead,
  ReplicationOptions,
  ReplicationState,
  VersionRecord,
} from '../../../../src/runtime/replication/replication-decision';
import { prng, shuffle } from '../../../support/seeded-random';

const ALL_ON: ReplicationOptions = { scope: EVERY_KEY, replicateDeleteMarkers: true, replicateVersionDeletes: true, replicateTags: true };
const ALL_OFF: ReplicationOptions = { scope: EVERY_KEY, replicateDeleteMarkers: false, replicateVersionDeletes: false, replicateTags: false };
const opts = (change: Partial<ReplicationOptions> = {}): ReplicationOptions => ({ ...ALL_ON, ...change });

const base = { v: 1 as const, bucket: 'src', key: 'data/file.txt', versionId: 'v-self', time: '2024-01-01T00:00:00Z', requestId: 'REQ1' };

const created = (sequencer = '0000000000000010'): ObjectCreatedMessage => ({ ...base, kind: 'ObjectCreated', sequencer, reason: 'PutObject' });
const deleteMarker = (sequencer = '0000000000000010', reason = 'DeleteObject'): ObjectDeletedMessage =>
  ({ ...base, kind: 'ObjectDeleted', sequencer, reason, deletionType: 'Delete Marker Created' });
const permanentDelete = (reason = 'DeleteObject'): ObjectDeletedMessage =>
  ({ ...base, kind: 'ObjectDeleted', sequencer: '0000000000000010', reason, deletionType: 'Permanently Deleted' });
const tags = (): ObjectTagsChangedMessage => ({ ...base, kind: 'ObjectTagsChanged' });
const repair = (staleReplica: string): ObjectCreatedMessage =>
  ({ ...base, kind: 'ObjectCreated', lastModified: '2024-01-01T00:00:00Z', reason: 'Backfill', staleReplica });

const head = (sequencer: string): KeyHead => ({ sequencer, sourceVersionId: 'v-other', kind: 'object', state: 'replicated', destinationVersionId: 'dest-other' });
const replicatedObject: VersionRecord = { sourceVersionId: 'v-self', kind: 'object', state: 'replicated', destinationVersionId: 'dest-v1' };
const selfHead: KeyHead = { ...replicatedObject, sequencer: '0000000000000010' };
const replicatedMarker: VersionRecord = { sourceVersionId: 'v-self', kind: 'deleteMarker', state: 'replicated', destinationVersionId: 'dest-dm1' };
const tombstone: VersionRecord = { sourceVersionId: 'v-self', kind: 'object', state: 'deleted' };
const tombstoneMarker: VersionRecord = { sourceVersionId: 'v-self', kind: 'deleteMarker', state: 'deleted' };
const objectWithoutDestination: VersionRecord = { sourceVersionId: 'v-self', kind: 'object', state: 'replicated' };

const skip = (reason: string): Decision => ({ action: 'skip', reason } as Decision);

type Row = [label: string, message: ReplicationMessage, state: ReplicationState, options: ReplicationOptions, expected: Decision];

describe('decide', () => {
  const rows: Row[] = [
    // Prefix filter: applies before anything else, to every kind.
    ['created outside prefixes', created(), {}, opts({ scope: { prefixes: ['logs/'] } }), skip('outside-prefixes')],
    ['created inside prefixes', created(), {}, opts({ scope: { prefixes: ['logs/', 'data/'] } }), { action: 'copy' }],
    ['tags outside prefixes', tags(), { version: replicatedObject }, opts({ scope: { prefixes: ['logs/'] } }), skip('outside-prefixes')],
    ['delete marker outside prefixes', deleteMarker(), {}, opts({ scope: { prefixes: ['logs/'] } }), skip('outside-prefixes')],
    ['permanent delete outside prefixes', permanentDelete(), {}, opts({ scope: { prefixes: ['logs/'] } }), skip('outside-prefixes')],

    // ObjectCreated
    ['created, new key', created(), {}, ALL_ON, { action: 'copy' }],
    ['created, new key, all options off', created(), {}, ALL_OFF, { action: 'copy' }],
    ['created, duplicate version', created(), { version: replicatedObject }, ALL_ON, skip('duplicate')],
    ['created, duplicate even if head is older', created('FF'), { head: head('01'), version: replicatedObject }, ALL_ON, skip('duplicate')],
    ['created, tombstoned version', created(), { version: tombstone }, ALL_ON, skip('source-version-deleted')],
    ['created, tombstoned even if newer than head', created('FF'), { head: head('01'), version: tombstone }, ALL_ON, skip('source-version-deleted')],
    ['created, older than head', created('0000000000000010'), { head: head('0000000000000020') }, ALL_ON, skip('older-than-replica')],
    ['created, equal to head', created('0000000000000020'), { head: head('0000000000000020') }, ALL_ON, skip('older-than-replica')],
    ['created, equal to head after right padding', created('ABC'), { head: head('abc0') }, ALL_ON, skip('older-than-replica')],
    ['created, newer than head', created('0000000000000021'), { head: head('0000000000000020') }, ALL_ON, { action: 'copy' }],
    ['created, newer than head in the 20th digit', created('FFFFFFFFFFFFFFFFFFF1'), { head: head('FFFFFFFFFFFFFFFFFFF0') }, ALL_ON, { action: 'copy' }],

    // ObjectCreated from a reconcile: the replica it names is missing or changed on the destination.
    ['repair, replica as recorded, version is the head', repair('dest-v1'), { head: selfHead, version: replicatedObject }, ALL_ON, { action: 'repair-replica' }],
    ['repair, mapping already re-pointed (repeated message)', repair('dest-v0'), { head: selfHead, version: replicatedObject }, ALL_ON, skip('duplicate')],
    ['repair, another version is the head: the source listing decides', repair('dest-v1'), { head: head('FF'), version: replicatedObject }, ALL_ON,
      { action: 'resolve-order' }],
    ['repair, a newer version replicated since', repair('dest-v1'), { head: head('FF'), version: replicatedObject, newerByListing: false }, ALL_ON,
      skip('older-than-replica')],
    ['repair, the head was applied out of order (older at the source)', repair('dest-v1'),
      { head: head('FF'), version: replicatedObject, newerByListing: true }, ALL_ON, { action: 'repair-replica' }],
    ['repair, no head to compare with', repair('dest-v1'), { version: replicatedObject }, ALL_ON, skip('older-than-replica')],
    ['repair, version deleted at the source since', repair('dest-v1'), { head: selfHead, version: tombstone }, ALL_ON, skip('source-version-deleted')],
    ['repair, version not in the map: an ordinary copy', repair('dest-v1'), {}, ALL_ON, { action: 'copy' }],
    ['created, older than head in the 20th digit', created('FFFFFFFFFFFFFFFFFFF0'), { head: head('FFFFFFFFFFFFFFFFFFF1') }, ALL_ON, skip('older-than-replica')],

    // ObjectTagsChanged
    ['tags, disabled', tags(), { version: replicatedObject }, opts({ replicateTags: false }), skip('tags-disabled')],
    ['tags, replicated object', tags(), { version: replicatedObject }, ALL_ON, { action: 'sync-tags', destinationVersionId: 'dest-v1' }],
    ['tags, replicated object, other options off', tags(), { version: replicatedObject }, opts({ replicateDeleteMarkers: false, replicateVersionDeletes: false }),
      { action: 'sync-tags', destinationVersionId: 'dest-v1' }],
    ['tags, not replicated yet', tags(), {}, ALL_ON, skip('not-replicated-yet')],
    ['tags, not replicated yet but head exists', tags(), { head: head('01') }, ALL_ON, skip('not-replicated-yet')],
    ['tags, delete marker record', tags(), { version: replicatedMarker }, ALL_ON, skip('not-replicated-yet')],
    ['tags, tombstoned version', tags(), { version: tombstone }, ALL_ON, skip('not-replicated-yet')],
    ['tags, record without destination version', tags(), { version: objectWithoutDestination }, ALL_ON, skip('not-replicated-yet')],

    // ObjectDeleted: Delete Marker Created
    ['marker, lifecycle expiration', deleteMarker('10', 'Lifecycle Expiration'), {}, ALL_ON, skip('lifecycle-expiration')],
    ['marker, disabled', deleteMarker(), {}, opts({ replicateDeleteMarkers: false }), skip('delete-markers-disabled')],
    ['marker, disabled even if version deletes on', deleteMarker(), {}, opts({ replicateDeleteMarkers: false, replicateVersionDeletes: true }),
      skip('delete-markers-disabled')],
    ['marker, duplicate', deleteMarker(), { version: replicatedMarker }, ALL_ON, skip('duplicate')],
    ['marker, already removed at the source', deleteMarker(), { version: tombstoneMarker }, ALL_ON, skip('source-version-deleted')],
    ['marker, older than head (stale)', deleteMarker('0000000000000010'), { head: head('0000000000000020') }, ALL_ON, skip('older-than-replica')],
    ['marker, equal to head (stale)', deleteMarker('0000000000000020'), { head: head('0000000000000020') }, ALL_ON, skip('older-than-replica')],
    ['marker, new key', deleteMarker(), {}, ALL_ON, { action: 'create-delete-marker' }],
    ['marker, newer than head', deleteMarker('0000000000000030'), { head: head('0000000000000020') }, ALL_ON, { action: 'create-delete-marker' }],

    // ObjectDeleted: Permanently Deleted
    ['permanent, no record', permanentDelete(), {}, ALL_ON, { action: 'remember-source-deleted' }],
    ['permanent, no record, all options off', permanentDelete(), {}, ALL_OFF, { action: 'remember-source-deleted' }],
    ['permanent, no record, lifecycle', permanentDelete('Lifecycle Expiration'), {}, ALL_OFF, { action: 'remember-source-deleted' }],
    ['permanent, no record, head exists', permanentDelete(), { head: head('FF') }, ALL_OFF, { action: 'remember-source-deleted' }],
    ['permanent, already deleted', permanentDelete(), { version: tombstone }, ALL_ON, skip('duplicate')],
    ['permanent, already deleted, lifecycle', permanentDelete('Lifecycle Expiration'), { version: tombstone }, ALL_ON, skip('duplicate')],
    ['permanent, lifecycle with object record', permanentDelete('Lifecycle Expiration'), { version: replicatedObject }, ALL_ON, { action: 'forget-version' }],
    ['permanent, lifecycle with object record, options off', permanentDelete('Lifecycle Expiration'), { version: replicatedObject }, ALL_OFF,
      { action: 'forget-version' }],
    ['permanent, lifecycle with marker record', permanentDelete('Lifecycle Expiration'), { version: replicatedMarker }, ALL_ON, { action: 'forget-version' }],
    ['permanent, object record, version deletes off', permanentDelete(), { version: replicatedObject }, opts({ replicateVersionDeletes: false }),
      skip('version-deletes-disabled')],
    ['permanent, object record, version deletes off, markers on', permanentDelete(), { version: replicatedObject },
      opts({ replicateVersionDeletes: false, replicateDeleteMarkers: true }), skip('version-deletes-disabled')],
    ['permanent, object record, version deletes on', permanentDelete(), { version: replicatedObject }, opts({ replicateDeleteMarkers: false }),
      { action: 'delete-destination-version', destinationVersionId: 'dest-v1' }],
    ['permanent, marker record, markers on only', permanentDelete(), { version: replicatedMarker },
      opts({ replicateDeleteMarkers: true, replicateVersionDeletes: false }), skip('version-deletes-disabled')],
    ['permanent, marker record, version deletes on only', permanentDelete(), { version: replicatedMarker },
      opts({ replicateDeleteMarkers: false, replicateVersionDeletes: true }), { action: 'delete-destination-version', destinationVersionId: 'dest-dm1' }],
    ['permanent, marker record, both on', permanentDelete(), { version: replicatedMarker }, ALL_ON,
      { action: 'delete-destination-version', destinationVersionId: 'dest-dm1' }],
    ['permanent, marker record, both off', permanentDelete(), { version: replicatedMarker }, ALL_OFF, skip('version-deletes-disabled')],
    // A store that made no marker left no replica, but the key may have to step back to an older version.
    ['permanent, record without destination version', permanentDelete(), { version: objectWithoutDestination }, ALL_ON,
      { action: 'delete-destination-version' }],
    ['permanent, record without destination version, version deletes off', permanentDelete(), { version: objectWithoutDestination },
      opts({ replicateVersionDeletes: false }), skip('version-deletes-disabled')],
  ];

  test.each(rows)('%s', (_label, message, state, options, expected) => {
    expect(decide(message, state, options)).toStrictEqual(expected);
  });

  test('a version that supersedes the deleted newest one is written although older, and only while that one is the newest', () => {
    const superseding = { ...created('0000000000000001'), supersedes: 'v-other' };
    const marker = { ...deleteMarker('0000000000000001'), supersedes: 'v-other' };
    const deletedNewest = head('0000000000000099');
    expect(decide(superseding, { head: deletedNewest }, ALL_ON)).toStrictEqual({ action: 'copy' });
    expect(decide(marker, { head: deletedNewest }, ALL_ON)).toStrictEqual({ action: 'create-delete-marker' });
    const movedOn = { ...deletedNewest, sourceVersionId: 'v-newer' };
    expect(decide(superseding, { head: movedOn }, ALL_ON)).toStrictEqual(skip('older-than-replica'));
    expect(decide(marker, { head: movedOn }, ALL_ON)).toStrictEqual(skip('older-than-replica'));
    // Already replicated by then (a redelivery): a duplicate, as any other.
    expect(decide(superseding, { head: deletedNewest, version: replicatedObject }, ALL_ON)).toStrictEqual(skip('duplicate'));
    expect(decide(marker, { head: deletedNewest }, opts({ replicateDeleteMarkers: false }))).toStrictEqual(skip('delete-markers-disabled'));
  });

  test('does not depend on the head for permanent deletes or tags', () => {
    for (const h of [undefined, head('00'), head('FFFFFFFFFFFFFFFFFFFFFF')]) {
      expect(decide(permanentDelete(), { head: h, version: replicatedObject }, ALL_ON))
        .toStrictEqual({ action: 'delete-destination-version', destinationVersionId: 'dest-v1' });
      expect(decide(tags(), { head: h, version: replicatedObject }, ALL_ON)).toStrictEqual({ action: 'sync-tags', destinationVersionId: 'dest-v1' });
    }
  });
});

/**
 * A tiny in-memory stand-in for the version table and the destination: applies copy and
 * create-delete-marker by advancing the head and recording the version; skips otherwise.
 */
class Simulator {
  private head?: KeyHead;
  private readonly versions = new Map<string, VersionRecord>();
  /** Versions written to the destination, in the order they were written. */
  readonly written: Array<ObjectCreatedMessage | ObjectDeletedMessage> = [];

  constructor(private readonly options: ReplicationOptions) {}

  apply(message: ReplicationMessage): Decision {
    const decision = decide(message, { head: this.head, version: this.versions.get(message.versionId) }, this.options);
    if (decision.action === 'copy' || decision.action === 'create-delete-marker') {
      if (message.kind === 'ObjectTagsChanged') throw new Error('tags cannot be written');
      // The real table commits conditionally on the head it read; here nothing interleaves.
      this.head = {
        sequencer: message.sequencer,
        sourceVersionId: message.versionId,
        kind: decision.action === 'copy' ? 'object' : 'deleteMarker',
        state: 'replicated',
        destinationVersionId: `dest-${message.versionId}`,
      };
      this.versions.set(message.versionId, {
        sourceVersionId: message.versionId,
        kind: decision.action === 'copy' ? 'object' : 'deleteMarker',
        state: 'replicated',
        destinationVersionId: `dest-${message.versionId}`,
      });
      this.written.push(message);
    } else if (decision.action !== 'skip') {
      throw new Error(`unexpected action ${decision.action} for ${message.kind}`);
    }
    return decision;
  }

  /** The destination's current version: the one written last. */
  get current(): ObjectCreatedMessage | ObjectDeletedMessage | undefined {
    return this.written[this.written.length - 1];
  }

  get headVersionId(): string | undefined {
    return this.head?.sourceVersionId;
  }
}

function randomHexSequencer(value: number, random: () => number): string {
  // 20 digits (beyond 64 bits), mixed case, with the event's rank in the low digits.
  const hex = `0055AED6DC${value.toString(16).padStart(10, '0')}`;
  return [...hex].map((c) => (random() < 0.5 ? c.toLowerCase() : c)).join('');
}

/** One key's history: creates and delete markers with strictly increasing sequencers. */
function randomChain(random: () => number): Array<ObjectCreatedMessage | ObjectDeletedMessage> {
  const length = 1 + Math.floor(random() * 8);
  const chain: Array<ObjectCreatedMessage | ObjectDeletedMessage> = [];
  let value = Math.floor(random() * 1000);
  for (let i = 0; i < length; i++) {
    value += 1 + Math.floor(random() * 0xfffff);
    const common = { ...base, versionId: `v${i}`, requestId: `REQ${i}`, sequencer: randomHexSequencer(value, random) };
    chain.push(random() < 0.7
      ? { ...common, kind: 'ObjectCreated', reason: 'PutObject' }
      : { ...common, kind: 'ObjectDeleted', reason: 'DeleteObject', deletionType: 'Delete Marker Created' });
  }
  return chain;
}

describe('decide: ordering property', () => {
  test('the generated chains are in strictly increasing sequencer order', () => {
    const random = prng(1);
    for (let i = 0; i < 50; i++) {
      const chain = randomChain(random);
      for (let j = 1; j < chain.length; j++) expect(compareSequencers(chain[j - 1].sequencer!, chain[j].sequencer!)).toBeLessThan(0);
    }
  });

  test('in order, every event is applied and the last one ends current', () => {
    const random = prng(2);
    for (let run = 0; run < 50; run++) {
      const chain = randomChain(random);
      const sim = new Simulator(ALL_ON);
      chain.forEach((message) => sim.apply(message));
      expect(sim.written.map((m) => m.versionId)).toEqual(chain.map((m) => m.versionId));
      expect(sim.current?.versionId).toBe(chain[chain.length - 1].versionId);
    }
  });

  test('for 200 random shuffles (with redeliveries), the last event in sequencer order ends current', () => {
    const random = prng(0x5eed);
    for (let run = 0; run < 200; run++) {
      const chain = randomChain(random);
      // At-least-once delivery: some events arrive twice.
      const deliveries = [...chain, ...chain.filter(() => random() < 0.3)];
      const shuffled = shuffle(deliveries, random);

      const inOrder = new Simulator(ALL_ON);
      chain.forEach((message) => inOrder.apply(message));
      const outOfOrder = new Simulator(ALL_ON);
      shuffled.forEach((message) => outOfOrder.apply(message));

      const last = chain[chain.length - 1];
      const context = `run ${run}: order ${shuffled.map((m) => m.versionId).join(',')}`;
      expect({ context, current: outOfOrder.current?.versionId }).toEqual({ context, current: inOrder.current?.versionId });
      expect({ context, current: outOfOrder.current?.versionId }).toEqual({ context, current: last.versionId });
      expect(outOfOrder.headVersionId).toBe(last.versionId);
      // The current version's kind (object or delete marker) matches too.
      expect(outOfOrder.current?.kind).toBe(last.kind);
      // Never written twice, and never anything older than what was already written.
      const ids = outOfOrder.written.map((m) => m.versionId);
      expect(new Set(ids).size).toBe(ids.length);
      for (let i = 1; i < outOfOrder.written.length; i++) {
        expect(compareSequencers(outOfOrder.written[i - 1].sequencer!, outOfOrder.written[i].sequencer!)).toBeLessThan(0);
      }
    }
  });
});

describe('decide: repairs and backfill ordering', () => {
  const self = (sequencer?: string): KeyHead => ({ sequencer, sourceVersionId: 'v-self', kind: 'object', state: 'replicated', destinationVersionId: 'dest-v1' });

  test('a version whose record is held by the head (a new key\'s first version) is a duplicate, not copied again', () => {
    const applied = self('0000000000000030');
    expect(decide(created('0000000000000030'), { head: applied, version: applied }, ALL_ON)).toStrictEqual(skip('duplicate'));
  });

  test('a backfill version against a head without a comparable order asks for the source listing', () => {
    const backfilled: ObjectCreatedMessage = { ...created(), sequencer: undefined, lastModified: '2026-01-01T00:00:00.000Z', backfillRun: 'r' };
    expect(decide(backfilled, { head: head('0000000000000020') }, ALL_ON)).toStrictEqual({ action: 'resolve-order' });
    expect(decide(backfilled, { head: head('0000000000000020'), newerByListing: true }, ALL_ON)).toStrictEqual({ action: 'copy' });
    expect(decide(backfilled, { head: head('0000000000000020'), newerByListing: false }, ALL_ON)).toStrictEqual(skip('older-than-replica'));
  });

  test('one run\'s versions of a key are ordered by their listing position', () => {
    const at = (index: number): ObjectCreatedMessage => ({ ...created(), sequencer: undefined, lastModified: '2026-01-01T00:00:00.000Z', backfillRun: 'r', backfillIndex: index });
    const applied: KeyHead = { ...head('00'), sequencer: undefined, backfill: { run: 'r', index: 5 } };
    expect(decide(at(6), { head: applied }, ALL_ON)).toStrictEqual({ action: 'copy' });
    expect(decide(at(4), { head: applied }, ALL_ON)).toStrictEqual(skip('older-than-replica'));
  });

  test('a permanent delete of the head version is not mistaken for a repair', () => {
    expect(decide(permanentDelete(), { head: self('0000000000000010') }, ALL_ON)).toStrictEqual({ action: 'remember-source-deleted' });
  });
});
