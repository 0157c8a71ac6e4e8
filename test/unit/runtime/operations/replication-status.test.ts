import { InvalidMessageError } from '../../../../src/runtime/contract/replication-message';
import { parseStatusRequest, REDRIVE_HINT, replicationStatus, StatusFacts } from '../../../../src/runtime/operations/replication-status';
import { KeyClaim } from '../../../../src/runtime/replication/key-state/replica-claim';

// The status mode's decision: what the version map and the source's listing say, one answer each.

const NOW = Date.parse('2026-11-30T12:00:00Z');
const base: StatusFacts = { key: 'reports/a.csv', versionId: 'v1', inScope: true, now: NOW };
const atSource = { kind: 'object' as const, newerVersionIds: [] };
const replica = { sourceVersionId: 'v1', kind: 'object' as const, state: 'replicated' as const, destinationVersionId: 'd1', recordedAt: '2026-11-30T11:00:00.000Z' };
const failure = { reason: 'AccessDenied: destination bucket policy', failedAt: '2026-11-30T10:00:00.000Z', messageId: 'm-1', attempts: 5 };
const claimOf = (versionId: string, expiresAt: number): KeyClaim => ({
  token: 't', expiresAt, claimedAt: Date.parse('2026-11-30T11:59:00Z'), intent: { sourceVersionId: versionId, kind: 'object' },
});

describe('replicationStatus', () => {
  test('replicated: the destination version and when the replica was recorded', () => {
    expect(replicationStatus({ ...base, record: replica, source: atSource })).toEqual({
      key: 'reports/a.csv', versionId: 'v1', status: 'replicated', kind: 'object', destinationVersionId: 'd1', replicatedAt: '2026-11-30T11:00:00.000Z',
    });
  });

  test('a replicated delete marker says so', () => {
    const marker = { ...replica, kind: 'deleteMarker' as const };
    expect(replicationStatus({ ...base, record: marker, source: { kind: 'deleteMarker', newerVersionIds: [] } })).toMatchObject({ status: 'replicated', kind: 'deleteMarker' });
  });

  test('a replica record outranks a failure record (a later delivery replicated it)', () => {
    expect(replicationStatus({ ...base, record: replica, failure, source: atSource })).toMatchObject({ status: 'replicated' });
  });

  test('replicated, also when the source version is gone since (its record stays)', () => {
    expect(replicationStatus({ ...base, record: replica })).toMatchObject({ status: 'replicated', destinationVersionId: 'd1' });
  });

  test('source-deleted: the record says the source version is gone for good', () => {
    expect(replicationStatus({ ...base, record: { ...replica, state: 'deleted' } })).toMatchObject({
      status: 'source-deleted', kind: 'object', recordedAt: replica.recordedAt,
    });
  });

  test('failed: why, when, after how many attempts, and how to redrive', () => {
    expect(replicationStatus({ ...base, failure, source: atSource })).toEqual({
      key: 'reports/a.csv', versionId: 'v1', status: 'failed', reason: failure.reason, failedAt: failure.failedAt, attempts: 5, hint: REDRIVE_HINT,
    });
    expect(REDRIVE_HINT).toContain('{"mode": "redrive"}');
  });

  test('pending: the source has it, nothing is recorded yet', () => {
    expect(replicationStatus({ ...base, source: atSource })).toMatchObject({ status: 'pending', kind: 'object' });
    expect(replicationStatus({ ...base, source: atSource })).not.toHaveProperty('copyingSince');
  });

  test('pending, being copied: the key\'s live claim is for this version', () => {
    expect(replicationStatus({ ...base, source: atSource, claim: claimOf('v1', NOW + 60_000) })).toMatchObject({
      status: 'pending', copyingSince: '2026-11-30T11:59:00.000Z', detail: 'being copied since 2026-11-30T11:59:00.000Z',
    });
  });

  test('pending: a claim given up or expired is a copy that did not finish, not one in progress', () => {
    const answer = replicationStatus({ ...base, source: atSource, claim: claimOf('v1', 0) });
    expect(answer).toMatchObject({ status: 'pending' });
    expect(answer).not.toHaveProperty('copyingSince');
    expect((answer as { detail: string }).detail).toContain('did not finish');
  });

  test('pending: another version\'s claim says nothing of this one', () => {
    expect(replicationStatus({ ...base, source: atSource, claim: claimOf('v2', NOW + 60_000) })).not.toHaveProperty('copyingSince');
  });

  test('superseded: the source lists a newer version of the key, and that one is replicated', () => {
    const head = { ...replica, sourceVersionId: 'v3' };
    expect(replicationStatus({ ...base, head, source: { kind: 'object', newerVersionIds: ['v4', 'v3', 'v2'] } })).toMatchObject({
      status: 'superseded', newerReplicatedVersionId: 'v3',
    });
  });

  test('not superseded when the replicated version is older than this one: pending', () => {
    const head = { ...replica, sourceVersionId: 'v0' };
    expect(replicationStatus({ ...base, head, source: { kind: 'object', newerVersionIds: ['v2'] } })).toMatchObject({ status: 'pending' });
  });

  test('not-found: neither the source nor the version map knows it', () => {
    expect(replicationStatus(base)).toMatchObject({ status: 'not-found', key: 'reports/a.csv', versionId: 'v1' });
  });

  test('not-found: a key without any version at the source and no version asked', () => {
    const answer = replicationStatus({ key: 'never.txt', inScope: true, now: NOW });
    expect(answer).toMatchObject({ status: 'not-found', key: 'never.txt' });
    expect(answer).not.toHaveProperty('versionId');
  });

  test('outside-scope: a key the prefixes leave out is never replicated, not pending', () => {
    expect(replicationStatus({ ...base, inScope: false, source: atSource })).toMatchObject({ status: 'outside-scope' });
  });

  test('outside-scope: a version whose tags the tag filter skips is not pending; a matching one is', () => {
    const skipped = replicationStatus({ ...base, source: { ...atSource, matchesTagFilter: false } });
    expect(skipped).toMatchObject({ status: 'outside-scope' });
    expect((skipped as { detail: string }).detail).toContain('tagFilter');
    expect(replicationStatus({ ...base, source: { ...atSource, matchesTagFilter: true } })).toMatchObject({ status: 'pending' });
    // A replica stays replicated when its source's tags stop matching.
    expect(replicationStatus({ ...base, record: replica, source: { ...atSource, matchesTagFilter: false } })).toMatchObject({ status: 'replicated' });
  });
});

describe('parseStatusRequest', () => {
  test('a key, with or without a version id', () => {
    expect(parseStatusRequest({ mode: 'status', key: 'a b+c.txt', versionId: 'v1' })).toEqual({ key: 'a b+c.txt', versionId: 'v1' });
    expect(parseStatusRequest({ mode: 'status', key: 'a.txt' })).toEqual({ key: 'a.txt' });
  });

  test.each([
    ['no key', { mode: 'status' }, '"key" as a non-empty string'],
    ['an empty key', { mode: 'status', key: '' }, '"key" as a non-empty string'],
    ['a key that is not a string', { mode: 'status', key: 42 }, 'got 42'],
    ['a version id that is not a string', { mode: 'status', key: 'a', versionId: 7 }, '"versionId", when given, must be a non-empty string'],
  ])('%s is refused, saying what to send', (_, request, expected) => {
    expect(() => parseStatusRequest(request)).toThrow(InvalidMessageError);
    expect(() => parseStatusRequest(request)).toThrow(expected);
    expect(() => parseStatusRequest(request)).toThrow('send {"mode": "status", "key": "<object key>"');
  });
});
