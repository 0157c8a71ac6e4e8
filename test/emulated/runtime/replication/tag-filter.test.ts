import { randomBytes } from 'crypto';
import { ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { captureOutput, emittedMetrics } from '../../../support/capture-output';
import { BackfillDriver } from '../../emulators/backfill-driver';
import { sourceS3 } from '../../emulators/partitions';
import { FixtureOptions, ReplicationFixture } from '../../emulators/replication-fixture';
import { RequestCounter } from '../../emulators/request-counter';
import { S3Event } from '../../emulators/s3-events';

// The tag filter against the two moto partitions: events carry no tags, so the real replicator
// tests the filter when it copies, with the tags it reads with the version.

const versionIdOf = (event: S3Event) => event.detail.object['version-id'] as string;
const tagging = (pairs: Record<string, string>) => new URLSearchParams(pairs).toString();
const FILTER = { replicate: 'yes', team: 'blue' };

/** Replicates with the handlers' logs (INFO and up) and metrics captured. */
async function replicateCaptured(fixture: ReplicationFixture, events: S3Event[]) {
  const { result, lines } = await captureOutput(() => fixture.replicate(events));
  return { result, logs: lines.map((line) => JSON.parse(line)), metrics: emittedMetrics(lines) };
}

const create = (options: FixtureOptions = {}) => ReplicationFixture.create({ tagFilter: FILTER, replicateDeleteMarkers: false, logLevel: 'INFO', ...options });

describe('tagFilter', () => {
  test('a version whose tags include every pair replicates, with its tags', async () => {
    const fixture = await create();
    const created = await fixture.events.put('in.txt', 'wanted', { Tagging: tagging({ ...FILTER, extra: 'kept' }) });

    const { result, metrics } = await replicateCaptured(fixture, [created]);

    expect(result).toEqual({ processed: 1, failures: 0 });
    expect(await fixture.destinationObject('in.txt')).toMatchObject({ body: Buffer.from('wanted'), tags: { ...FILTER, extra: 'kept' } });
    expect(metrics.ObjectsReplicated).toBe(1);
    expect(metrics.VersionsFilteredByTags).toBeUndefined();
  });

  test('a version missing a pair, or with another value, is skipped with its metric and an info log; nothing is written or recorded', async () => {
    const fixture = await create();
    const partial = await fixture.events.put('partial.txt', 'one pair', { Tagging: tagging({ replicate: 'yes' }) });
    const otherValue = await fixture.events.put('other.txt', 'wrong value', { Tagging: tagging({ replicate: 'yes', team: 'Blue' }) });

    const { result, logs, metrics } = await replicateCaptured(fixture, [partial, otherValue]);

    expect(result).toEqual({ processed: 2, failures: 0 });
    expect(metrics).toMatchObject({ EventsSkipped: 2, VersionsFilteredByTags: 2 });
    expect(metrics.ObjectsReplicated).toBeUndefined();
    const skipped = logs.filter((line) => line.outcome?.reason === 'tag-filter');
    // Two keys of one batch are copied side by side, so their log lines may come in either order.
    expect(skipped.map((line) => [line.level, line.key]).sort()).toEqual([['INFO', 'other.txt'], ['INFO', 'partial.txt']]);
    for (const [key, event] of [['partial.txt', partial], ['other.txt', otherValue]] as const) {
      expect((await fixture.destinationVersions(key)).versions).toHaveLength(0);
      const state = await fixture.versionTable.load(key, versionIdOf(event));
      expect(state.version).toBeUndefined();
      // The claim taken for the copy was given back: the key is free for its next version.
      expect(state.claim).toBeUndefined();
    }
  });

  test('a version without tags is skipped without reading its tags', async () => {
    const fixture = await create();
    const counter = new RequestCounter();
    const source = counter.attach(sourceS3(fixture.emulators.sourceEndpoint, fixture.emulators.sourceAdmin), 'source');
    const handler = fixture.replicatorReadingThrough(source);
    const created = await fixture.events.put('untagged.txt', 'no tags');
    const tagged = await fixture.events.put('tagged.txt', 'some tags', { Tagging: tagging({ replicate: 'no' }) });
    await fixture.routerHandler(created);

    expect(await fixture.drain(3, handler)).toEqual({ processed: 1, failures: 0 });
    expect(counter.take()).toMatchObject({ 'source:GetObjectCommand': 1 });
    expect(counter.count('source:GetObjectTaggingCommand')).toBe(0);

    await fixture.routerHandler(tagged);
    expect(await fixture.drain(3, handler)).toEqual({ processed: 1, failures: 0 });
    expect(counter.count('source:GetObjectTaggingCommand')).toBe(1);
    expect((await fixture.destinationVersions('untagged.txt')).versions).toHaveLength(0);
    expect((await fixture.destinationVersions('tagged.txt')).versions).toHaveLength(0);
  });

  test('a large (multipart) version is tested before any upload starts: a non-matching one leaves none behind, a matching one replicates', async () => {
    const fixture = await create();
    const skipped = await fixture.events.put('big-skipped.bin', randomBytes(9 * 1024 * 1024), { Tagging: tagging({ replicate: 'yes' }) });
    const copied = await fixture.events.put('big-copied.bin', randomBytes(9 * 1024 * 1024), { Tagging: tagging(FILTER) });

    const { metrics } = await replicateCaptured(fixture, [skipped, copied]);

    expect(metrics).toMatchObject({ VersionsFilteredByTags: 1, ObjectsReplicated: 1 });
    expect((await fixture.destinationVersions('big-skipped.bin')).versions).toHaveLength(0);
    expect((await fixture.destinationObject('big-copied.bin'))?.tags).toEqual(FILTER);
    const uploads = await fixture.adminS3.send(new ListMultipartUploadsCommand({ Bucket: fixture.destinationBucket }));
    expect(uploads.Uploads ?? []).toHaveLength(0);
  });

  test('with prefixes, both must match (S3\'s And filter)', async () => {
    const fixture = await create({ prefixes: ['in/'] });
    const both = await fixture.events.put('in/both.txt', 'both', { Tagging: tagging(FILTER) });
    const prefixOnly = await fixture.events.put('in/prefix-only.txt', 'prefix only');
    const tagsOnly = await fixture.events.put('out/tags-only.txt', 'tags only', { Tagging: tagging(FILTER) });

    await replicateCaptured(fixture, [both, prefixOnly, tagsOnly]);

    expect((await fixture.destinationObject('in/both.txt'))?.body.toString()).toBe('both');
    expect(await fixture.destinationObject('in/prefix-only.txt')).toBeUndefined();
    expect(await fixture.destinationObject('out/tags-only.txt')).toBeUndefined();
  });

  test('the filter is read with the version, tags replicated or not: replicateTags false copies a matching version without its tags', async () => {
    const fixture = await create({ replicateTags: false });
    const matching = await fixture.events.put('bare.txt', 'no tags on the replica', { Tagging: tagging(FILTER) });
    const other = await fixture.events.put('skipped.txt', 'skipped', { Tagging: tagging({ replicate: 'no' }) });

    const { metrics } = await replicateCaptured(fixture, [matching, other]);

    expect(await fixture.destinationObject('bare.txt')).toMatchObject({ body: Buffer.from('no tags on the replica'), tags: {} });
    expect(await fixture.destinationObject('skipped.txt')).toBeUndefined();
    expect(metrics.VersionsFilteredByTags).toBe(1);
  });

  test('as in S3 Replication, tagging a version later so that it matches does not replicate it; a backfill does', async () => {
    const fixture = await create();
    const created = await fixture.events.put('late.txt', 'tagged later');
    await replicateCaptured(fixture, [created]);
    expect(await fixture.destinationObject('late.txt')).toBeUndefined();

    const tagged = await fixture.events.tag('late.txt', versionIdOf(created), [{ Key: 'replicate', Value: 'yes' }, { Key: 'team', Value: 'blue' }]);
    const { logs } = await replicateCaptured(fixture, [tagged]);
    expect(logs.find((line) => line.key === 'late.txt' && line.outcome)).toMatchObject({ outcome: { action: 'skip', reason: 'not-replicated-yet' } });
    expect(await fixture.destinationObject('late.txt')).toBeUndefined();

    const driver = await BackfillDriver.create(fixture);
    const runId = await driver.start('current-versions');
    await captureOutput(() => driver.drive());
    const { lines } = await driver.report(runId);
    expect(lines.find((line) => line.key === 'late.txt')).toMatchObject({ outcome: 'replicated' });
    expect(await fixture.destinationObject('late.txt')).toMatchObject({ body: Buffer.from('tagged later'), tags: FILTER });
  });

  test('a replica stays when its source version\'s tags stop matching, and takes the new tags', async () => {
    const fixture = await create();
    const created = await fixture.events.put('kept.txt', 'replicated', { Tagging: tagging(FILTER) });
    await replicateCaptured(fixture, [created]);

    const retagged = await fixture.events.tag('kept.txt', versionIdOf(created), [{ Key: 'replicate', Value: 'no' }]);
    const { metrics } = await replicateCaptured(fixture, [retagged]);

    expect(metrics.TagSetsReplicated).toBe(1);
    expect(await fixture.destinationObject('kept.txt')).toMatchObject({ body: Buffer.from('replicated'), tags: { replicate: 'no' } });
    expect((await fixture.destinationVersions('kept.txt')).versions).toHaveLength(1);
  });

  test('a backfill enqueues as usual and reports the versions the filter skips as skipped-by-filter', async () => {
    const fixture = await create();
    const put = (key: string, body: string, tags?: Record<string, string>) =>
      fixture.sourceS3.send(new PutObjectCommand({ Bucket: fixture.sourceBucket, Key: key, Body: body, Tagging: tags && tagging(tags) }));
    await put('a.txt', 'old, untagged');
    await put('a.txt', 'new, tagged', FILTER);
    await put('b.txt', 'other team', { ...FILTER, team: 'red' });
    const driver = await BackfillDriver.create(fixture);

    const runId = await driver.start('all-versions');
    const { lines: output } = await captureOutput(() => driver.drive());
    const { lines, summary } = await driver.report(runId);

    expect(summary.outcomes).toEqual({ 'replicated': 1, 'already-present': 0, 'skipped-by-filter': 2, 'skipped': 0, 'failed': 0, 'extra-on-destination': 0 });
    expect(summary.tagFilter).toEqual(FILTER);
    expect(lines.filter((line) => line.outcome === 'skipped-by-filter').map((line) => [line.key, line.reason]).sort())
      .toEqual([['a.txt', 'tag-filter'], ['b.txt', 'tag-filter']]);
    expect(emittedMetrics(output)).toMatchObject({ BackfillVersionsEnqueued: 3, BackfillVersionsReplicated: 1, VersionsFilteredByTags: 2 });
    expect((await fixture.destinationVersions('a.txt')).versions).toHaveLength(1);
    expect((await fixture.destinationObject('a.txt'))?.body.toString()).toBe('new, tagged');
    expect(await fixture.destinationObject('b.txt')).toBeUndefined();
  });
});
