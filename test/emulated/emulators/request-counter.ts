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

interface Sender {
  readonly config: { region: () => Promise<string> };
  send(command: object, ...rest: unknown[]): Promise<unknown>;
}

/**
 * The requests every SDK client of the given classes sent while `run` ran, by
 * `<service>@<region>:<command>`, except those of the `excluded` clients (a test's own). The
 * clients are spied on, not mocked: every request still goes to the server.
 */
export async function requestsDuring(
  classes: Record<string, { prototype: object }>, excluded: readonly object[], run: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const spies = Object.entries(classes).map(([service, type]) => ({
    service,
    spy: jest.spyOn(type.prototype as Sender, 'send'),
  }));
  try {
    await run();
    const counts: Record<string, number> = {};
    for (const { service, spy } of spies) {
      for (const [index, [command]] of spy.mock.calls.entries()) {
        const client = spy.mock.contexts[index] as Sender;
        if (excluded.includes(client)) continue;
        const name = `${service}@${await client.config.region()}:${command.constructor.name.replace(/Command$/, '')}`;
        counts[name] = (counts[name] ?? 0) + 1;
      }
    }
    return counts;
  } finally {
    spies.forEach(({ spy }) => spy.mockRestore());
  }
}
