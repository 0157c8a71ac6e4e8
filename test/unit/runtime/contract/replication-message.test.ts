import {
  InvalidMessageError,
  messageDeduplicationId,
  messageGroupId,
  ObjectCreatedMessage,
  ObjectDeletedMessage,
  ObjectTagsChangedMessage,
  parseReplicationMessage,
  ReplicationMessage,
} from '../../../../src/runtime/contract/replication-message';

const created: ObjectCreatedMessage = {
  v: 1,
  kind: 'ObjectCreated',
  bucket: 'source-bucket',
  key: 'folder/a b+c.txt',
  versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
  time: '2021-11-12T00:00:00Z',
  requestId: 'N4N7GDK58NMKJ12R',
  sequencer: '617F08299329D189',
  size: 5,
  eTag: 'b1946ac92492d2347c6235b4d2611184',
  reason: 'PutObject',
};

const deleted: ObjectDeletedMessage = {
  v: 1,
  kind: 'ObjectDeleted',
  bucket: 'source-bucket',
  key: 'folder/a b+c.txt',
  versionId: 'CY7lxVsiGIhFRQDJ.DkW0ZbM6EL4RtJj',
  time: '2021-11-12T00:00:01Z',
  requestId: '0BH729840619AG5K',
  sequencer: '617F0837B476E463',
  reason: 'DeleteObject',
  deletionType: 'Delete Marker Created',
};

const tagsChanged: ObjectTagsChangedMessage = {
  v: 1,
  kind: 'ObjectTagsChanged',
  bucket: 'source-bucket',
  key: 'folder/a b+c.txt',
  versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
  time: '2021-11-12T00:00:02Z',
  requestId: 'R2A5GD5A1HJCKZX3',
};

describe('messageGroupId', () => {
  test('is deterministic', () => {
    expect(messageGroupId('bucket', 'key')).toBe(messageGroupId('bucket', 'key'));
  });

  test('differs by bucket', () => {
    expect(messageGroupId('bucket-a', 'key')).not.toBe(messageGroupId('bucket-b', 'key'));
  });

  test('differs by key', () => {
    expect(messageGroupId('bucket', 'key-1')).not.toBe(messageGroupId('bucket', 'key-2'));
    expect(messageGroupId('bucket', 'Key')).not.toBe(messageGroupId('bucket', 'key'));
  });

  test('does not confuse the bucket/key boundary', () => {
    expect(messageGroupId('ab', 'c')).not.toBe(messageGroupId('a', 'bc'));
  });

  test('is at most 128 alphanumeric characters, even for a 1024-byte UTF-8 key', () => {
    // 'é' is 2 bytes and '€' 3 bytes in UTF-8: 341 * 3 + 1 = 1024 bytes.
    const key = '€'.repeat(341) + 'x';
    expect(Buffer.byteLength(key, 'utf8')).toBe(1024);
    for (const k of [key, 'é'.repeat(512), 'a', 'with spaces/and+plus&=?#']) {
      const id = messageGroupId('source-bucket', k);
      expect(id.length).toBeLessThanOrEqual(128);
      expect(id).toMatch(/^[a-zA-Z0-9]+$/);
      expect(id).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(messageGroupId('source-bucket', key)).not.toBe(messageGroupId('source-bucket', `${'€'.repeat(341)}y`));
  });
});

describe('messageDeduplicationId', () => {
  test('the same event gets the same id', () => {
    expect(messageDeduplicationId(created)).toBe(messageDeduplicationId({ ...created }));
    expect(messageDeduplicationId(deleted)).toBe(messageDeduplicationId({ ...deleted }));
    expect(messageDeduplicationId(tagsChanged)).toBe(messageDeduplicationId({ ...tagsChanged }));
  });

  test('the id is FIFO-compatible (<= 128 characters, alphanumeric)', () => {
    for (const message of [created, deleted, tagsChanged]) {
      expect(messageDeduplicationId(message)).toMatch(/^[a-zA-Z0-9]{1,128}$/);
    }
  });

  test('the same event redelivered through JSON gets the same id', () => {
    for (const message of [created, deleted, tagsChanged]) {
      expect(messageDeduplicationId(parseReplicationMessage(JSON.stringify(message)))).toBe(messageDeduplicationId(message));
    }
  });

  test.each<[string, Partial<ObjectCreatedMessage>]>([
    ['requestId', { requestId: 'OTHERREQUEST0001' }],
    ['versionId', { versionId: 'otherVersionId' }],
    ['sequencer', { sequencer: '617F08299329D18A' }],
    ['key', { key: 'other key' }],
    ['bucket', { bucket: 'other-bucket' }],
  ])('differs when %s differs', (_field, change) => {
    expect(messageDeduplicationId({ ...created, ...change })).not.toBe(messageDeduplicationId(created));
  });

  test('differs when kind differs for otherwise identical facts', () => {
    const asDeleted: ObjectDeletedMessage = {
      ...deleted,
      versionId: created.versionId,
      requestId: created.requestId,
      sequencer: created.sequencer,
    };
    const asTags: ObjectTagsChangedMessage = { ...tagsChanged, versionId: created.versionId, requestId: created.requestId };
    const ids = new Set([created, asDeleted, asTags].map(messageDeduplicationId));
    expect(ids.size).toBe(3);
  });

  test('two tag changes of the same version (different requests) get different ids', () => {
    expect(messageDeduplicationId({ ...tagsChanged, requestId: 'SECONDREQUEST001' })).not.toBe(messageDeduplicationId(tagsChanged));
  });
});

describe('parseReplicationMessage', () => {
  test.each<[string, ReplicationMessage]>([
    ['ObjectCreated', created],
    ['ObjectDeleted (delete marker)', deleted],
    ['ObjectDeleted (permanently deleted)', { ...deleted, deletionType: 'Permanently Deleted' }],
    ['ObjectTagsChanged', tagsChanged],
    ['ObjectCreated from a backfill', {
      ...created, sequencer: undefined, lastModified: '2021-11-12T00:00:00.000Z', backfillRun: 'run-1', backfillIndex: 7, reason: 'Backfill',
    }],
    ['ObjectCreated that supersedes a deleted newest version', {
      ...created, sequencer: undefined, lastModified: '2021-11-12T00:00:00.000Z', reason: 'SupersedesDeletedVersion', supersedes: 'v-deleted',
    }],
    ['ObjectDeleted (delete marker) that supersedes a deleted newest version', { ...deleted, supersedes: 'v-deleted' }],
    ['ObjectCreated from a reconcile (a repair)', {
      ...created, sequencer: undefined, lastModified: '2021-11-12T00:00:00.000Z', backfillRun: 'run-2', reason: 'Backfill', staleReplica: 'dest-v1',
    }],
  ])('round-trips %s through JSON.stringify', (_kind, message) => {
    expect(parseReplicationMessage(JSON.stringify(message))).toEqual(message);
  });

  test('round-trips an ObjectCreated without the optional size and eTag', () => {
    const { size: _size, eTag: _eTag, ...minimal } = created;
    const parsed = parseReplicationMessage(JSON.stringify(minimal));
    expect(parsed).toEqual(minimal);
    expect(parsed.kind === 'ObjectCreated' && parsed.size).toBeUndefined();
  });

  test('normalises the sequencer to upper case', () => {
    const parsed = parseReplicationMessage(JSON.stringify({ ...created, sequencer: '617f08299329d189' }));
    expect(parsed.kind === 'ObjectCreated' && parsed.sequencer).toBe('617F08299329D189');
  });

  test('drops unknown fields', () => {
    const parsed = parseReplicationMessage(JSON.stringify({ ...tagsChanged, extra: 'x' }));
    expect(parsed).not.toHaveProperty('extra');
  });

  const withFields = (base: object, change: Record<string, unknown>) => JSON.stringify({ ...base, ...change });
  const without = (base: object, field: string) => {
    const copy: Record<string, unknown> = { ...base };
    delete copy[field];
    return JSON.stringify(copy);
  };

  test.each<[string, string, RegExp]>([
    ['non-JSON', '{not json', /not JSON/],
    ['empty body', '', /not JSON/],
    ['a JSON array', '[]', /queue message is not a JSON object/],
    ['a JSON string', '"hello"', /queue message is not a JSON object/],
    ['JSON null', 'null', /queue message is not a JSON object/],
    ['wrong v', withFields(created, { v: 2 }), /shape version 2/],
    ['missing v', without(created, 'v'), /shape version/],
    ['v as a string', withFields(created, { v: '1' }), /shape version "1"/],
    ['unknown kind', withFields(created, { kind: 'ObjectRestored' }), /unknown kind "ObjectRestored"/],
    ['missing kind', without(tagsChanged, 'kind'), /unknown kind/],
    ['missing key', without(created, 'key'), /^key is missing/],
    ['empty key', withFields(created, { key: '' }), /^key is missing/],
    ['non-string key', withFields(created, { key: 42 }), /^key is missing or not a non-empty string/],
    ['missing bucket', without(deleted, 'bucket'), /^bucket is missing/],
    ['missing versionId', without(tagsChanged, 'versionId'), /^versionId is missing/],
    ['missing time', without(created, 'time'), /^time is missing/],
    ['missing requestId', without(created, 'requestId'), /^requestId is missing/],
    ['missing sequencer on ObjectCreated', without(created, 'sequencer'), /^sequencer is missing/],
    ['missing sequencer on ObjectDeleted', without(deleted, 'sequencer'), /^sequencer is missing/],
    ['non-hex sequencer', withFields(created, { sequencer: 'not-hex' }), /sequencer.*"not-hex" is not a hexadecimal string/],
    ['non-hex sequencer on ObjectDeleted', withFields(deleted, { sequencer: '617F0837B476E46G' }), /^sequencer: sequencer "617F0837B476E46G" is not a hexadecimal/],
    ['sequencer longer than S3\'s', withFields(created, { sequencer: '0'.repeat(65) }), /^sequencer: sequencer "0{20}\.\.\." is 65 characters long; S3's are hexadecimal strings of at most 64 digits$/],
    ['sequencer longer than S3\'s on ObjectDeleted', withFields(deleted, { sequencer: 'F'.repeat(4096) }), /^sequencer: sequencer "F{20}\.\.\." is 4096 characters long/],
    ['missing reason on ObjectCreated', without(created, 'reason'), /^reason is missing/],
    ['missing reason on ObjectDeleted', without(deleted, 'reason'), /^reason is missing/],
    ['bad deletionType', withFields(deleted, { deletionType: 'Soft Deleted' }), /deletion type "Soft Deleted" is neither/],
    ['missing deletionType', without(deleted, 'deletionType'), /deletion type undefined is neither/],
    ['a non-string staleReplica', withFields(created, { staleReplica: 123 }), /^staleReplica is 123; when present it must be a non-empty string/],
    ['an empty supersedes', withFields(created, { supersedes: '' }), /^supersedes is ""; when present it must be a non-empty string/],
    ['a non-string supersedes on ObjectDeleted', withFields(deleted, { supersedes: 7 }), /^supersedes is 7; when present it must be a non-empty string/],
    ['an empty backfillRun', withFields(created, { backfillRun: '' }), /^backfillRun is ""; when present it must be a non-empty string/],
    ['a backfillIndex as a string', withFields(created, { backfillIndex: '3' }), /^backfillIndex is "3"; when present it must be a whole number from 0/],
    ['a negative backfillIndex', withFields(deleted, { backfillIndex: -1 }), /^backfillIndex is -1/],
    ['a continuation of 0', withFields(created, { continuation: 0 }), /^continuation is 0; when present it must be a whole number from 1/],
    ['a fractional continuation', withFields(created, { continuation: 1.5 }), /^continuation is 1.5/],
  ])('rejects %s with InvalidMessageError naming the problem', (_label, body, message) => {
    let thrown: unknown;
    try {
      parseReplicationMessage(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidMessageError);
    expect((thrown as Error).name).toBe('InvalidMessageError');
    expect((thrown as Error).message).toMatch(message);
  });
});
