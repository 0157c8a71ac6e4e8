import { isCustomerKeyRefusal, SourceVersionCustomerKeyError } from '../../../../src/runtime/engine/source-reads';
import { skipForSourceRead } from '../../../../src/runtime/replication/outcomes/source-outcomes';

// SSE-C sources: S3 answers a GET without the customer's key with 400 InvalidRequest (the message as
// S3 sends it, reported in wal-g/wal-g#2027). The replicator never holds customers' keys, so such a
// version is skipped, not retried.

const refusal = (change: Record<string, unknown> = {}) => Object.assign(
  new Error('The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.'),
  { name: 'InvalidRequest', $metadata: { httpStatusCode: 400 } },
  change,
);

describe('isCustomerKeyRefusal', () => {
  test('S3\'s refusal of a GET without the customer key', () => {
    expect(isCustomerKeyRefusal(refusal())).toBe(true);
  });

  test.each<[string, Record<string, unknown>]>([
    ['another InvalidRequest', { message: 'Invalid Request: range not satisfiable' }],
    ['another status', { $metadata: { httpStatusCode: 403 } }],
    ['another error name', { name: 'AccessDenied' }],
  ])('not for %s', (_label, change) => {
    expect(isCustomerKeyRefusal(refusal(change))).toBe(false);
  });

  test('not for no error at all', () => {
    expect(isCustomerKeyRefusal(undefined)).toBe(false);
  });
});

describe('skipForSourceRead', () => {
  test('an SSE-C version is skipped with reason sse-c', () => {
    expect(skipForSourceRead(new SourceVersionCustomerKeyError('k', 'v', refusal()))).toEqual({ action: 'skip', reason: 'sse-c' });
  });

  test('the refusal itself, unexplained, is no skip (it fails and is retried)', () => {
    expect(skipForSourceRead(refusal())).toBeUndefined();
  });
});
