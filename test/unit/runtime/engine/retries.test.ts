import { isTransient, PART_RETRY_BACKOFF_MS, retryTransient } from '../../../../src/runtime/engine/retries';
import { SourceVersionGoneError } from '../../../../src/runtime/engine/source-reads';
import { ContentMismatchError } from '../../../../src/runtime/engine/verification';

const withStatus = (name: string, httpStatusCode: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

describe('isTransient', () => {
  test.each([
    ['a socket reset', Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' })],
    ['a body that broke off', new Error('aborted')],
    ['a server error', withStatus('InternalError', 500)],
    ['a slow-down answer', withStatus('SlowDown', 503)],
    ['throttling', withStatus('TooManyRequests', 429)],
  ])('%s is retried', (_, error) => {
    expect(isTransient(error)).toBe(true);
  });

  test.each([
    ['access denied (the credentials path re-reads the secret instead)', withStatus('AccessDenied', 403)],
    ['an upload that is gone', withStatus('NoSuchUpload', 404)],
    ['a source version that is gone', new SourceVersionGoneError('k', 'v', new Error('NoSuchVersion'))],
    ['bytes that do not match the source', new ContentMismatchError('k', 'v', 'MD5 a, ETag b')],
    ['something that is not an Error', 'boom'],
  ])('%s is not retried', (_, error) => {
    expect(isTransient(error)).toBe(false);
  });
});

describe('retryTransient', () => {
  test('retries a transient failure and returns the later success', async () => {
    let calls = 0;
    const result = await retryTransient(async () => {
      calls++;
      if (calls < 3) throw new Error('aborted');
      return 'done';
    }, 3, 1);
    expect({ result, calls }).toEqual({ result: 'done', calls: 3 });
  });

  test('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    await expect(retryTransient(async () => {
      calls++;
      throw new Error(`aborted ${calls}`);
    }, 3, 1)).rejects.toThrow('aborted 3');
  });

  test('a final error is thrown at once', async () => {
    let calls = 0;
    await expect(retryTransient(async () => {
      calls++;
      throw withStatus('AccessDenied', 403);
    }, 3, 1)).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);
  });

  test('by default waits 250 ms times the attempts made before each next attempt', async () => {
    jest.useFakeTimers();
    try {
      const calls: number[] = [];
      const done = retryTransient(async () => {
        calls.push(Date.now());
        if (calls.length < 3) throw new Error('aborted');
        return 'done';
      });
      await jest.advanceTimersByTimeAsync(0);
      expect(calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(249);
      expect(calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(499);
      expect(calls).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(1);
      await expect(done).resolves.toBe('done');
      expect(PART_RETRY_BACKOFF_MS).toBe(250);
    } finally {
      jest.useRealTimers();
    }
  });
});
