import { InvalidMessageError } from '../../../../src/runtime/contract/replication-message';
import { parseS3EventBridgeEvent, REPLICATED_DETAIL_TYPES } from '../../../../src/runtime/contract/s3-eventbridge-event';
import { thrownBy } from '../../../support/thrown-by';

/* Events in the shape of AWS's "EventBridge event message structure" examples for Amazon S3. */

/** The envelope and detail fields every documented S3 event shares. */
function s3Event(detailType: string, id: string, detail: Record<string, unknown>) {
  return {
    'version': '0',
    'id': id,
    'detail-type': detailType,
    'source': 'aws.s3',
    'account': '111122223333',
    'time': '2021-11-12T00:00:00Z',
    'region': 'ca-central-1',
    'resources': ['arn:aws:s3:::amzn-s3-demo-bucket1'],
    'detail': {
      'version': '0',
      'bucket': { name: 'amzn-s3-demo-bucket1' },
      'request-id': 'N4N7GDK58NMKJ12R',
      'requester': '123456789012',
      'source-ip-address': '1.2.3.4',
      ...detail,
    },
  };
}

function objectCreated(reason = 'PutObject', object: Record<string, unknown> = {}) {
  return s3Event('Object Created', '17793124-05d4-b198-2fde-7ededc63b103', {
    object: {
      'key': 'example-key',
      'size': 5,
      'etag': 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      'sequencer': '617f08299329d189',
      ...object,
    },
    reason: reason,
  });
}

function objectDeleted(reason: string, deletionType: string) {
  return s3Event('Object Deleted', '2ee9cc15-d022-99ea-1fb8-1b1bac4850f9', {
    'object': {
      'key': 'example-key',
      'etag': 'd41d8cd98f00b204e9800998ecf8427e',
      'version-id': '1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF',
      'sequencer': '617f0837b476e463',
    },
    'request-id': '0BH729840619AG5K',
    'requester': reason === 'Lifecycle Expiration' ? 's3.amazonaws.com' : '123456789012',
    'reason': reason,
    'deletion-type': deletionType,
  });
}

function objectTags(detailType: 'Object Tags Added' | 'Object Tags Deleted') {
  return s3Event(detailType, 'd6f0d3b6-2d13-4a4f-a9c3-6f2c0b1a2e44', {
    object: {
      'key': 'example-key',
      'etag': 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
    },
  });
}

/** A deep copy the test can break without touching the template. */
function mutate<T>(event: T, change: (e: any) => void): T {
  const copy = JSON.parse(JSON.stringify(event));
  change(copy);
  return copy;
}

describe('parseS3EventBridgeEvent: replicated events', () => {
  test('Object Created by PutObject', () => {
    expect(parseS3EventBridgeEvent(objectCreated('PutObject'))).toStrictEqual({
      v: 1,
      kind: 'ObjectCreated',
      bucket: 'amzn-s3-demo-bucket1',
      key: 'example-key',
      versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      time: '2021-11-12T00:00:00Z',
      requestId: 'N4N7GDK58NMKJ12R',
      sequencer: '617F08299329D189',
      reason: 'PutObject',
      size: 5,
      eTag: 'b1946ac92492d2347c6235b4d2611184',
    });
  });

  test('Object Created by CompleteMultipartUpload', () => {
    const event = objectCreated('CompleteMultipartUpload', { size: 104857600, etag: '9b2cf535f27731c974343645a3985328-13' });
    expect(parseS3EventBridgeEvent(event)).toMatchObject({
      kind: 'ObjectCreated',
      reason: 'CompleteMultipartUpload',
      size: 104857600,
      eTag: '9b2cf535f27731c974343645a3985328-13',
      sequencer: '617F08299329D189',
    });
  });

  test('Object Created without size and etag leaves them undefined', () => {
    const event = mutate(objectCreated(), (e) => {
      delete e.detail.object.size;
      delete e.detail.object.etag;
    });
    const message = parseS3EventBridgeEvent(event);
    expect(message.kind).toBe('ObjectCreated');
    expect(message).toMatchObject({ size: undefined, eTag: undefined });
  });

  test('Object Deleted: Delete Marker Created by DeleteObject', () => {
    expect(parseS3EventBridgeEvent(objectDeleted('DeleteObject', 'Delete Marker Created'))).toStrictEqual({
      v: 1,
      kind: 'ObjectDeleted',
      bucket: 'amzn-s3-demo-bucket1',
      key: 'example-key',
      versionId: '1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF',
      time: '2021-11-12T00:00:00Z',
      requestId: '0BH729840619AG5K',
      sequencer: '617F0837B476E463',
      reason: 'DeleteObject',
      deletionType: 'Delete Marker Created',
    });
  });

  test('Object Deleted: Permanently Deleted by DeleteObject', () => {
    expect(parseS3EventBridgeEvent(objectDeleted('DeleteObject', 'Permanently Deleted'))).toMatchObject({
      kind: 'ObjectDeleted',
      reason: 'DeleteObject',
      deletionType: 'Permanently Deleted',
      versionId: '1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF',
    });
  });

  test.each(['Delete Marker Created', 'Permanently Deleted'])('Object Deleted by Lifecycle Expiration (%s)', (deletionType) => {
    expect(parseS3EventBridgeEvent(objectDeleted('Lifecycle Expiration', deletionType))).toMatchObject({
      kind: 'ObjectDeleted',
      reason: 'Lifecycle Expiration',
      deletionType,
      sequencer: '617F0837B476E463',
    });
  });

  test.each(['Object Tags Added', 'Object Tags Deleted'] as const)('%s (no sequencer) becomes ObjectTagsChanged', (detailType) => {
    const message = parseS3EventBridgeEvent(objectTags(detailType));
    expect(message).toStrictEqual({
      v: 1,
      kind: 'ObjectTagsChanged',
      bucket: 'amzn-s3-demo-bucket1',
      key: 'example-key',
      versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      time: '2021-11-12T00:00:00Z',
      requestId: 'N4N7GDK58NMKJ12R',
    });
  });

  test.each([
    'folder/a b+c.txt',
    'a+b',
    'red flower.jpg',
    'caf\u00e9/\u65e5\u672c\u8a9e \u20ac.txt',
    'already%20encoded%2B',
    'equals=and&ampersand?#',
  ])('uses key %j exactly as given (no URL decoding)', (key) => {
    expect(parseS3EventBridgeEvent(objectCreated('PutObject', { key })).key).toBe(key);
    const tags = mutate(objectTags('Object Tags Added'), (e) => { e.detail.object.key = key; });
    expect(parseS3EventBridgeEvent(tags).key).toBe(key);
  });

  test('normalises the sequencer to upper case', () => {
    const message = parseS3EventBridgeEvent(objectCreated('PutObject', { sequencer: '0055aed6dcd90281e5' }));
    expect(message.kind === 'ObjectCreated' && message.sequencer).toBe('0055AED6DCD90281E5');
  });

  test('accepts a sequencer of 64 hex digits, the longest allowed', () => {
    const message = parseS3EventBridgeEvent(objectCreated('PutObject', { sequencer: '0055aed6dcd90281e5'.padEnd(64, 'f') }));
    expect(message.kind === 'ObjectCreated' && message.sequencer).toBe('0055AED6DCD90281E5'.padEnd(64, 'F'));
  });

  test('REPLICATED_DETAIL_TYPES lists the four subscribed types', () => {
    expect([...REPLICATED_DETAIL_TYPES].sort()).toEqual(['Object Created', 'Object Deleted', 'Object Tags Added', 'Object Tags Deleted']);
  });
});

describe('parseS3EventBridgeEvent: rejected events', () => {
  test.each<[string, unknown, RegExp]>([
    ['not an object', 'Object Created', /^event is not a JSON object$/],
    ['null', null, /^event is not a JSON object$/],
    ['wrong source', mutate(objectCreated(), (e) => { e.source = 'aws.ec2'; }), /event source "aws\.ec2" is not "aws\.s3"/],
    ['missing source', mutate(objectCreated(), (e) => { delete e.source; }), /event source undefined is not "aws\.s3"/],
    [
      'unsupported detail-type',
      mutate(objectCreated(), (e) => { e['detail-type'] = 'Object Restore Completed'; }),
      /detail-type "Object Restore Completed" is not replicated \(expected one of Object Created, Object Deleted, Object Tags Added, Object Tags Deleted\)/,
    ],
    ['missing detail-type', mutate(objectCreated(), (e) => { delete e['detail-type']; }), /^detail-type is missing/],
    ['missing version-id', mutate(objectCreated(), (e) => { delete e.detail.object['version-id']; }), /version-id is missing.*versioning enabled/],
    ['empty version-id', mutate(objectTags('Object Tags Added'), (e) => { e.detail.object['version-id'] = ''; }), /versioning/],
    ['"null" version-id as JSON null', mutate(objectDeleted('DeleteObject', 'Permanently Deleted'), (e) => { e.detail.object['version-id'] = null; }), /versioning/],
    ['missing sequencer on Object Created', mutate(objectCreated(), (e) => { delete e.detail.object.sequencer; }), /^detail\.object\.sequencer is missing/],
    [
      'missing sequencer on Object Deleted',
      mutate(objectDeleted('DeleteObject', 'Delete Marker Created'), (e) => { delete e.detail.object.sequencer; }),
      /^detail\.object\.sequencer is missing/,
    ],
    ['non-hex sequencer', mutate(objectCreated(), (e) => { e.detail.object.sequencer = 'zz'; }), /^detail\.object\.sequencer: sequencer "zz" is not a hexadecimal string/],
    [
      'non-hex sequencer on Object Deleted',
      mutate(objectDeleted('DeleteObject', 'Delete Marker Created'), (e) => { e.detail.object.sequencer = '617f0837b476e46g'; }),
      /^detail\.object\.sequencer: sequencer "617f0837b476e46g" is not a hexadecimal string/,
    ],
    [
      'sequencer longer than S3\'s',
      mutate(objectCreated(), (e) => { e.detail.object.sequencer = '617f08299329d189'.repeat(4) + '0'; }),
      /^detail\.object\.sequencer: sequencer "617f08299329d189617f\.\.\." is 65 characters long; S3's are hexadecimal strings of at most 64 digits$/,
    ],
    [
      'sequencer longer than S3\'s on Object Deleted',
      mutate(objectDeleted('DeleteObject', 'Permanently Deleted'), (e) => { e.detail.object.sequencer = '1'.repeat(100000); }),
      /^detail\.object\.sequencer: sequencer "1{20}\.\.\." is 100000 characters long/,
    ],
    ['missing bucket name', mutate(objectCreated(), (e) => { delete e.detail.bucket.name; }), /^detail\.bucket\.name is missing/],
    ['missing bucket', mutate(objectCreated(), (e) => { delete e.detail.bucket; }), /^detail\.bucket is not a JSON object/],
    ['missing object', mutate(objectCreated(), (e) => { delete e.detail.object; }), /^detail\.object is not a JSON object/],
    ['missing object key', mutate(objectCreated(), (e) => { delete e.detail.object.key; }), /^detail\.object\.key is missing/],
    ['detail a string', mutate(objectCreated(), (e) => { e.detail = 'Object Created'; }), /^event detail is not a JSON object$/],
    ['detail missing', mutate(objectCreated(), (e) => { delete e.detail; }), /^event detail is not a JSON object$/],
    ['detail an array', mutate(objectCreated(), (e) => { e.detail = []; }), /^event detail is not a JSON object$/],
    ['missing request-id', mutate(objectCreated(), (e) => { delete e.detail['request-id']; }), /^detail\.request-id is missing/],
    ['missing time', mutate(objectCreated(), (e) => { delete e.time; }), /^time is missing/],
    ['missing reason on Object Created', mutate(objectCreated(), (e) => { delete e.detail.reason; }), /^detail\.reason is missing/],
    [
      'unknown deletion-type',
      objectDeleted('DeleteObject', 'Soft Deleted'),
      /deletion type "Soft Deleted" is neither "Delete Marker Created" nor "Permanently Deleted"/,
    ],
  ])('%s', (_label, event, message) => {
    const error = thrownBy(() => parseS3EventBridgeEvent(event));
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error.message).toMatch(message);
  });
});
