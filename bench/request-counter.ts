// Counts (and times) the AWS requests made through SDK clients, by service and command, with a
// middleware at the initialize step: one count per `send`, whatever the retries underneath.
import { performance } from 'node:perf_hooks';
import { S3Client } from '@aws-sdk/client-s3';

/** Any SDK v3 client: only its middleware stack is used. */
interface SdkClient {
  middlewareStack: { add: (middleware: never, options: { step: 'initialize'; name?: string }) => void };
}

export interface ServiceCount {
  readonly requests: number;
  /** Wall time inside the SDK for these requests (sequential callers: adds up to time spent). */
  readonly ms: number;
  readonly byCommand: Record<string, number>;
}

export class RequestCounter {
  private counts = new Map<string, { requests: number; ms: number; byCommand: Map<string, number> }>();
  private readonly instrumented = new WeakSet<object>();

  instrument<T extends SdkClient>(client: T, service: string): T {
    if (this.instrumented.has(client)) return client;
    this.instrumented.add(client);
    const middleware = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        this.record(service, context.commandName ?? 'unknown', performance.now() - start);
      }
    };
    client.middlewareStack.add(middleware as never, { step: 'initialize', name: `benchRequestCounter-${service}` });
    return client;
  }

  /**
   * The replicator builds its destination S3 client itself, from the credentials secret (see
   * src/runtime/destination-client.ts), so it cannot be handed an instrumented one: until the
   * returned function is called, every S3 client not instrumented yet is instrumented as `service`
   * on its first request.
   */
  instrumentNewS3Clients(service: string): () => void {
    const own = Object.getOwnPropertyDescriptor(S3Client.prototype, 'send');
    const send = S3Client.prototype.send as (...args: unknown[]) => unknown;
    const counter = this;
    Object.defineProperty(S3Client.prototype, 'send', {
      configurable: true,
      writable: true,
      value: function patchedSend(this: S3Client, ...args: unknown[]) {
        counter.instrument(this as unknown as SdkClient, service);
        return send.apply(this, args);
      },
    });
    return () => {
      if (own) Object.defineProperty(S3Client.prototype, 'send', own);
      else delete (S3Client.prototype as { send?: unknown }).send;
    };
  }

  reset(): void {
    this.counts = new Map();
  }

  snapshot(): Record<string, ServiceCount> {
    return Object.fromEntries([...this.counts].map(([service, count]) => [service, {
      requests: count.requests, ms: count.ms, byCommand: Object.fromEntries(count.byCommand),
    }]));
  }

  private record(service: string, command: string, ms: number): void {
    let count = this.counts.get(service);
    if (!count) this.counts.set(service, count = { requests: 0, ms: 0, byCommand: new Map() });
    count.requests += 1;
    count.ms += ms;
    count.byCommand.set(command, (count.byCommand.get(command) ?? 0) + 1);
  }
}
