/**
 * Retries of one part's request in place: a dropped connection or a server error (the SDK does not
 * retry a response body that breaks off mid-stream) would otherwise send the whole message back to
 * the queue, to wait out its visibility timeout before the copy resumes.
 */
export const PART_ATTEMPTS = 3;

/** Milliseconds a part's request waits before its next attempt, times the attempts made so far. */
export const PART_RETRY_BACKOFF_MS = 250;

/** No HTTP answer at all (socket reset, aborted body, short read) or a 5xx / throttling answer. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error) || NOT_TRANSIENT.has(error.name)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429;
}

/** Errors of this runtime that say something final about the object. */
const NOT_TRANSIENT = new Set(['SourceVersionGoneError', 'ContentMismatchError']);

export async function retryTransient<T>(operation: () => Promise<T>, attempts = PART_ATTEMPTS, backoffMs = PART_RETRY_BACKOFF_MS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffMs * attempt));
    }
  }
}

/** A non-idempotent write failed in a way that may have applied it; it is not sent again in place. */
export class AmbiguousWriteError extends Error {
  constructor(operation: string, cause: unknown) {
    super(`${operation} may have been applied before it failed (${describe(cause)}); not sent again in place`);
    this.name = 'AmbiguousWriteError';
  }
}

type Handler = (args: unknown) => Promise<unknown>;

/**
 * Lets the SDK retry a non-idempotent write only after an answer that says it was not applied
 * (503 Slow Down, a throttle). After anything else (a lost response, a timeout, a 500) a second
 * send could write a second destination version, so the failure goes to the caller, whose claim
 * makes the next delivery look at the destination before writing again.
 */
export function sentOnceUnlessRefused<C extends { middlewareStack: { add: (...args: never[]) => void } }>(command: C, operation: string): C {
  let ambiguous: unknown;
  const guard = (next: Handler): Handler => async (args) => {
    if (ambiguous !== undefined) throw new AmbiguousWriteError(operation, ambiguous);
    try {
      return await next(args);
    } catch (error) {
      if (!wasRefused(error)) ambiguous = error;
      throw error;
    }
  };
  // Below the retry middleware (priority high in the same step), so it runs once per attempt.
  (command.middlewareStack.add as (middleware: unknown, options: object) => void)(guard, { step: 'finalizeRequest', priority: 'low', name: 'sentOnceUnlessRefused' });
  return command;
}

function wasRefused(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (error as { name?: string }).name ?? '';
  return status === 503 || status === 429 || ['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded'].includes(name);
}

function describe(cause: unknown): string {
  const error = cause as { name?: string; message?: string };
  return [error.name, error.message].filter(Boolean).join(': ') || 'an error';
}
