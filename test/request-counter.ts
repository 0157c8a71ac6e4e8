/** Something with an SDK v3 middleware stack (every client is). */
interface WithMiddleware {
  readonly middlewareStack: {
    add(middleware: (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name?: string }): void;
  };
}

/**
 * Counts the requests a client sends, by `<label>:<command>`: added once per client, it sees every
 * call, including those the code under test makes through its own wrappers.
 */
export class RequestCounter {
  readonly counts = new Map<string, number>();
  private readonly attached = new WeakSet<object>();

  attach<T extends object>(client: T, label: string): T {
    if (this.attached.has(client)) return client;
    this.attached.add(client);
    (client as unknown as WithMiddleware).middlewareStack.add((next, context) => async (args) => {
      const name = `${label}:${context.commandName ?? 'unknown'}`;
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
      return next(args);
    }, { step: 'initialize', name: `requestCounter-${label}` });
    return client;
  }

  /** The counts since the last reset, sorted by name, and starts afresh. */
  take(): Record<string, number> {
    const snapshot = Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
    this.counts.clear();
    return snapshot;
  }

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}
