/**
 * Collects what the handlers write to standard output (Powertools' JSON logs and EMF metrics)
 * while `run` executes, so a test can assert on the logs and metrics a real invocation emits.
 */
export async function captureStdout<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  try {
    const result = await run();
    return { result, lines: chunks.join('').split('\n').filter((line) => line.length > 0) };
  } finally {
    spy.mockRestore();
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
      for (const { Name } of directive.Metrics) totals[Name] = (totals[Name] ?? 0) + Number(parsed[Name]);
    }
  }
  return totals;
}
