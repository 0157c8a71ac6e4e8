import {
  CLAIM_MARGIN_MS,
  claimStatus,
  DEFAULT_LEASE_MS,
  KeyClaim,
  leaseEnd,
  parseIntent,
  serializeIntent,
  unrecordedReplica,
} from '../../../../../src/runtime/replication/key-state/replica-claim';

const claimedAt = Date.parse('2026-11-30T10:00:00Z');
const claim = (intent: Partial<KeyClaim['intent']> = {}, expiresAt = 1_000): KeyClaim => ({
  token: 't1',
  expiresAt,
  claimedAt,
  intent: { sourceVersionId: 'v2', kind: 'object', size: 7, ...intent },
});
const at = (offsetMs: number) => new Date(claimedAt + offsetMs);

describe('claimStatus', () => {
  test('no claim is free; a lease still running is held; an ended or given-up one is stale', () => {
    expect(claimStatus(undefined, 500)).toBe('free');
    expect(claimStatus(claim({}, 1_000), 999)).toBe('held');
    expect(claimStatus(claim({}, 1_000), 1_000)).toBe('stale');
    expect(claimStatus(claim({}, 0), 1)).toBe('stale');
  });
});

describe('leaseEnd', () => {
  test('outlives the invocation by a margin; without a known end, Lambda\'s longest timeout', () => {
    expect(leaseEnd(100, 60_100)).toBe(60_100 + CLAIM_MARGIN_MS);
    expect(leaseEnd(100, undefined)).toBe(100 + DEFAULT_LEASE_MS + CLAIM_MARGIN_MS);
  });
});

describe('unrecordedReplica', () => {
  test('the newest destination version, unknown to the map, of the claimed size and made after the claim, is the claim\'s replica', () => {
    const latest = { versionId: 'd2', isDeleteMarker: false, size: 7, lastModified: at(1_000) };
    expect(unrecordedReplica(claim(), 'd1', latest)).toBe(latest);
    expect(unrecordedReplica(claim(), undefined, latest)).toBe(latest);
  });

  test('nothing when the destination\'s newest is the recorded replica, or there is none', () => {
    expect(unrecordedReplica(claim(), 'd1', { versionId: 'd1', isDeleteMarker: false, size: 7 })).toBeUndefined();
    expect(unrecordedReplica(claim(), 'd1', undefined)).toBeUndefined();
  });

  test('nothing of the other kind: a delete marker is not an object\'s replica, nor the reverse', () => {
    expect(unrecordedReplica(claim(), 'd1', { versionId: 'm', isDeleteMarker: true, lastModified: at(0) })).toBeUndefined();
    const marker = { versionId: 'm', isDeleteMarker: true, lastModified: at(0) };
    expect(unrecordedReplica(claim({ kind: 'deleteMarker', size: undefined }), 'd1', marker)).toBe(marker);
    expect(unrecordedReplica(claim({ kind: 'deleteMarker', size: undefined }), 'd1', { versionId: 'd2', isDeleteMarker: false, size: 7 })).toBeUndefined();
  });

  test('nothing of another size, or older than the claim (beyond the clock tolerance)', () => {
    expect(unrecordedReplica(claim(), 'd1', { versionId: 'd2', isDeleteMarker: false, size: 8, lastModified: at(0) })).toBeUndefined();
    expect(unrecordedReplica(claim(), undefined, { versionId: 'old', isDeleteMarker: false, size: 7, lastModified: at(-60_000) })).toBeUndefined();
    const withinTolerance = { versionId: 'd2', isDeleteMarker: false, size: 7, lastModified: at(-1_000) };
    expect(unrecordedReplica(claim(), 'd1', withinTolerance)).toBe(withinTolerance);
  });

  test('a repair never takes the replica it replaces', () => {
    expect(unrecordedReplica(claim({ replacing: 'stale' }), 'stale', { versionId: 'stale', isDeleteMarker: false, size: 7 })).toBeUndefined();
    expect(unrecordedReplica(claim({ replacing: 'stale' }), 'other', { versionId: 'stale', isDeleteMarker: false, size: 7 })).toBeUndefined();
  });
});

describe('intent serialization', () => {
  test('round-trips, and a damaged claim is an error that says so', () => {
    const intent = { sourceVersionId: 'v9', kind: 'deleteMarker' as const, sequencer: '0A', backfill: { run: 'r', index: 3 } };
    expect(parseIntent(serializeIntent(intent))).toEqual(intent);
    expect(() => parseIntent('{"kind":"object"}')).toThrow('the version map holds a claim it cannot read');
  });
});
