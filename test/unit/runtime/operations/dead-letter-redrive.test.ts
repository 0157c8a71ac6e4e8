import { classifyRouterDeadLetter, parseRedriveRequest, redriveDeduplicationId } from '../../../../src/runtime/operations/dead-letter-redrive';

// Where each dead letter goes back to, decided without a queue.

describe('classifyRouterDeadLetter', () => {
  const event = { 'version': '0', 'source': 'aws.s3', 'detail-type': 'Object Created', 'detail': { bucket: { name: 'b' } } };

  test('an S3 event (an undelivered EventBridge event, or a failed asynchronous invocation of the router) goes back through the router', () => {
    expect(classifyRouterDeadLetter(JSON.stringify(event))).toEqual({ kind: 's3-event', event });
  });

  test('a backfill step goes back to the backfill queue', () => {
    expect(classifyRouterDeadLetter('{"runId":"2026-11-30T12-00-00-000Z-1a2b3c4d"}')).toEqual({ kind: 'backfill-step', runId: '2026-11-30T12-00-00-000Z-1a2b3c4d' });
  });

  test.each([
    ['not JSON', 'hello'],
    ['a JSON array', '[1]'],
    ['an event of another source', JSON.stringify({ ...event, source: 'aws.ec2' })],
    ['a runId beside other fields', '{"runId":"r","mode":"all-versions"}'],
    ['an empty runId', '{"runId":""}'],
    ['no body', undefined],
  ])('%s is unrecognised (left in the queue)', (_, body) => {
    expect(classifyRouterDeadLetter(body)).toMatchObject({ kind: 'unrecognised' });
  });
});

describe('parseRedriveRequest', () => {
  test('both queues by default, or the one named', () => {
    expect(parseRedriveRequest({ mode: 'redrive' })).toEqual(['replication', 'router']);
    expect(parseRedriveRequest({ mode: 'redrive', queue: 'router' })).toEqual(['router']);
    expect(parseRedriveRequest({ mode: 'redrive', queue: 'replication' })).toEqual(['replication']);
  });

  test('another queue is refused, saying what to send', () => {
    expect(() => parseRedriveRequest({ mode: 'redrive', queue: 'dlq' })).toThrow('send {"mode": "redrive"}');
  });
});

test('a redriven message\'s deduplication id never equals an original one (hex digests) and repeats for the same dead letter', () => {
  const id = redriveDeduplicationId('6c3d6a0b-6f4f-4c55-9c5e-000000000001');
  expect(id).not.toMatch(/^[0-9a-f]{64}$/);
  expect(id).toBe(redriveDeduplicationId('6c3d6a0b-6f4f-4c55-9c5e-000000000001'));
  expect(id.length).toBeLessThanOrEqual(128);
});
