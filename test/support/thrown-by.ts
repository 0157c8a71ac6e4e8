/** The error `fn` throws, for tests that inspect its message; fails when nothing is thrown. */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
