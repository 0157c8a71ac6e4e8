import { checkSoak, GroupsInFlight, InvocationRecord, ListedVersion, MapRecord, soakWorkload, SoakState, stuckReport } from '../../../bench/soak-check';

const object = (key: string, versionId: string, isLatest: boolean, eTag = `etag-${versionId}`): ListedVersion => ({
  key, versionId, isDeleteMarker: false, isLatest, eTag,
});
const marker = (key: string, versionId: string, isLatest: boolean): ListedVersion => ({ key, versionId, isDeleteMarker: true, isLatest });

/** Key a: two versions, both replicated; key b: one version then a delete marker, both replicated. */
function replicated(): SoakState {
  return {
    source: [object('a', 's2', true), object('a', 's1', false), marker('b', 'sm', true), object('b', 's3', false)],
    destination: [object('a', 'd2', true, 'etag-s2'), object('a', 'd1', false, 'etag-s1'), marker('b', 'dm', true), object('b', 'd3', false, 'etag-s3')],
    map: [
      { key: 'a', sourceVersionId: 's2', destinationVersionId: 'd2' }, // head
      { key: 'a', sourceVersionId: 's1', destinationVersionId: 'd1' },
      { key: 'b', sourceVersionId: 'sm', destinationVersionId: 'dm' },
      { key: 'b', sourceVersionId: 's3', destinationVersionId: 'd3' },
    ],
    queued: 0,
    deadLettered: 0,
  };
}

describe('the soak check', () => {
  it('finds nothing wrong when every key is replicated', () => {
    expect(checkSoak(replicated())).toEqual({ keys: 2, sourceVersions: 4, destinationVersions: 4, mappedReplicas: 4, violations: [] });
  });

  it('counts a version recorded in both its own item and the head once', () => {
    const state = replicated();
    const findings = checkSoak({ ...state, map: [...state.map, { key: 'a', sourceVersionId: 's2', destinationVersionId: 'd2' }] });
    expect(findings.violations).toEqual([]);
    expect(findings.mappedReplicas).toBe(4);
  });

  it('names a key whose current version never reached the destination (lost)', () => {
    const state = replicated();
    const findings = checkSoak({ ...state, source: [object('a', 's3', true), ...state.source.map((v) => (v.versionId === 's2' ? { ...v, isLatest: false } : v))] });
    expect(findings.violations).toEqual([expect.stringMatching(/^a: the destination's current ETag etag-s2 differs from the source's etag-s3/),
      expect.stringMatching(/^a: stale replica: .* source version s2 \(1 versions older\), the source's current is s3/)]);
  });

  it('names a key whose destination lost its replica, and a recorded replica that is gone', () => {
    const state = replicated();
    const findings = checkSoak({ ...state, destination: state.destination.filter((v) => v.key !== 'a') });
    expect(findings.violations).toEqual([
      "a: the source's current entry is version s2, the destination's nothing (lost)",
      'a: the replica d2 of source version s2 is recorded but not at the destination (lost)',
      'a: the replica d1 of source version s1 is recorded but not at the destination (lost)',
    ]);
  });

  it('names a key whose destination is still current after the source deleted it', () => {
    const state = replicated();
    const destination = state.destination.filter((v) => v.versionId !== 'dm').map((v) => (v.versionId === 'd3' ? { ...v, isLatest: true } : v));
    const findings = checkSoak({ ...state, destination, map: state.map.filter((r) => r.destinationVersionId !== 'dm') });
    expect(findings.violations).toEqual([
      "b: the source's current entry is a delete marker, the destination's version d3 (a replica of source version s3)",
      "b: stale replica: the destination's current entry is a replica of source version s3 (1 versions older), the source's current is sm",
    ]);
  });

  it('names a stale replica: an older source version copied over the newer one', () => {
    const state = replicated();
    const destination = [object('a', 'd1b', true, 'etag-s1'), ...state.destination.map((v) => (v.versionId === 'd2' ? { ...v, isLatest: false } : v))];
    const findings = checkSoak({ ...state, destination, map: [...state.map, { key: 'a', sourceVersionId: 's1', destinationVersionId: 'd1b' }] });
    expect(findings.violations).toEqual(expect.arrayContaining([
      'a: stale replica: the destination\'s current entry is a replica of source version s1 (1 versions older), the source\'s current is s2',
      'a: source version s1 is replicated to 2 destination versions (d1, d1b)',
    ]));
  });

  it('names a duplicate copy that no record of the version map accounts for', () => {
    const state = replicated();
    const findings = checkSoak({ ...state, destination: [...state.destination, object('a', 'd2copy', false, 'etag-s2')] });
    expect(findings.violations).toEqual(['a: destination version d2copy is in no record of the version map (a duplicate or stray copy)']);
  });

  it('names one destination version recorded for two source versions', () => {
    const state = replicated();
    const map: MapRecord[] = state.map.map((r) => (r.sourceVersionId === 's1' ? { ...r, destinationVersionId: 'd2' } : r));
    expect(checkSoak({ ...state, map }).violations).toContain('a: destination version d2 is recorded as the replica of 2 source versions (s2, s1)');
  });

  it('fails on messages left on the queue or dead-lettered', () => {
    expect(checkSoak({ ...replicated(), queued: 3, deadLettered: 1 }).violations)
      .toEqual(['3 messages left on the replication queue', '1 messages on the dead-letter queues']);
  });
});

describe('the soak workload', () => {
  it('is decided by its seed: new keys, overwrites and deletes of recent keys, about 60/30/10', () => {
    const workload = soakWorkload(10_000, 7, 'p/');
    expect(soakWorkload(10_000, 7, 'p/')).toEqual(workload);
    expect(soakWorkload(10_000, 8, 'p/')).not.toEqual(workload);
    const share = (kind: string) => workload.filter((operation) => operation.kind === kind).length / workload.length;
    expect(share('new')).toBeCloseTo(0.6, 1);
    expect(share('overwrite')).toBeCloseTo(0.3, 1);
    expect(share('delete')).toBeCloseTo(0.1, 1);
    const versions = new Map<string, number>();
    for (const { key, kind } of workload) if (kind !== 'delete') versions.set(key, (versions.get(key) ?? 0) + 1);
    expect(Math.max(...versions.values())).toBeGreaterThanOrEqual(4);
    expect(workload.every(({ key, size }) => key.startsWith('p/') && size >= 256 && size <= 4096)).toBe(true);
  });
});

describe('the message groups in flight', () => {
  it('reports a group handed to a second batch while the first still holds it, and not after it is done', () => {
    const inFlight = new GroupsInFlight();
    expect(inFlight.enter(['g1', 'g1', 'g2'])).toEqual([]);
    expect(inFlight.enter(['g3', 'g2'])).toEqual(['g2']);
    inFlight.leave(['g1', 'g1', 'g2']);
    expect(inFlight.enter(['g1'])).toEqual([]);
    expect(inFlight.enter(['g2'])).toEqual(['g2']); // the second batch still holds g2
    inFlight.leave(['g3', 'g2']);
    inFlight.leave(['g2']);
    expect(inFlight.enter(['g2', 'g3'])).toEqual([]);
  });
});

describe('the report of a run whose queue did not drain', () => {
  const invocation = (id: number, keys: string[], startedMs: number, failure?: string): InvocationRecord => ({
    id, startedMs, failure, messages: keys.map((key, i) => ({ messageId: `m${id}-${i}`, group: `g-${key}`, key })),
  });

  it('names the invocations still running, those that failed whole, the messages hidden in flight and the groups on the queue', () => {
    const lines = stuckReport(
      { visible: 2, notVisible: 5, delayed: 0 },
      [invocation(7, ['a', 'b'], 1_000)],
      [invocation(3, ['c'], 0, 'invocation timed out after 900 s')],
      [{ group: 'g-d', key: 'd', kind: 'ObjectCreated', receiveCount: 1 }, { group: 'g-d', key: 'd', kind: 'ObjectDeleted', receiveCount: 0 }],
      61_000,
    );
    expect(lines).toEqual([
      'replication queue: 2 visible, 5 in flight, 0 delayed',
      'invocation 7 still running after 60 s with 2 messages: a (group g-a), b (group g-b)',
      'invocation 3 failed as a whole (invocation timed out after 900 s); its 1 messages return after the visibility timeout: c (group g-c)',
      expect.stringMatching(/^3 messages in flight that no running invocation holds/),
      '2 visible messages received for this report, in 1 groups: group g-d: ObjectCreated d (received 1x), ObjectDeleted d (received 0x)',
    ]);
  });

  it('says only the counts when nothing is running, failed or hidden', () => {
    expect(stuckReport({ visible: 0, notVisible: 0, delayed: 1 }, [], [], [], 0)).toEqual(['replication queue: 0 visible, 0 in flight, 1 delayed']);
  });
});
