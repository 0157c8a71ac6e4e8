/**
 * Collects what the handlers write to standard output and error (Powertools' JSON logs and EMF
 * metrics) while `run` executes, so a test can assert on the logs and metrics a real invocation
 * emits.
 */
export async function captureOutput<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const collect = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(collect), jest.spyOn(process.stderr, 'write').mockImplementation(collect)];
  try {
    const result = await run();
    return { result, lines: chunks.join('').split('\n').filter((line) => line.length > 0) };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
}

/** The EMF metric values among captured lines, summed by name. */
export function emittedMetrics(lines: string[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of lines) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const emf = parsed._aws as { CloudWatchMetrics?: Array<{ Metrics: Array<{ Name: string }> }> } | undefined;
    for (const directive of emf?.CloudWatchMetrics ?? []) {
      for (const { Name } of directive.Metrics) {
        const values = ([] as unknown[]).concat(parsed[Name]).map(Number);
        totals[Name] = (totals[Name] ?? 0) + values.reduce((sum, value) => sum + value, 0);
      }
    }
  }
  return totals;
}
