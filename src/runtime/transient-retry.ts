/**
 * Retries of one part's request in place: a dropped connection or a server error (the SDK does not
 * retry a response body that breaks off mid-stream) would otherwise send the whole message back to
 * the queue, to wait out its visibility timeout before the copy resumes.
 */
export const PART_ATTEMPTS = 3;

/** No HTTP answer at all (socket reset, aborted body, short read) or a 5xx / throttling answer. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error) || NOT_TRANSIENT.has(error.name)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429;
}

/** Errors of this runtime that say something final about the object. */
const NOT_TRANSIENT = new Set(['SourceVersionGoneError', 'ContentMismatchError']);

export async function retryTransient<T>(operation: () => Promise<T>, attempts = PART_ATTEMPTS, backoffMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffMs * attempt));
    }
  }
}
