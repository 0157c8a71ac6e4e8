// Counts (and times) AWS requests by service and command, two ways:
// - `instrument`: a middleware at the initialize step of an SDK client the bench holds, one count
//   per `send`, whatever the retries underneath;
// - `observeHttp`: every HTTP request the process sends, seen through Node's own http client
//   diagnostics channels, so it also counts the clients a bundled handler builds inside its own
//   copy of the SDK (which no middleware of ours can reach). One count per HTTP request: a retry
//   counts again.
import * as diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Any SDK v3 client: only its middleware stack is used. */
interface SdkClient {
  middlewareStack: { add: (middleware: never, options: { step: 'initialize'; name?: string }) => void };
}

export interface ServiceCount {
  readonly requests: number;
  /**
   * Wall time of these requests (sequential callers: adds up to time spent): inside the SDK for
   * `instrument`, from the request sent to the response read for `observeHttp`.
   */
  readonly ms: number;
  readonly byCommand: Record<string, number>;
}

/** Names the service and the command of an HTTP request; undefined: not counted. */
export type HttpRequestClassifier = (request: ClientRequest) => { service: string; command: string } | undefined;

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
   * Until the returned function is called, counts every HTTP request of this process that
   * `classify` names: from Node's `http.client.request.start` (the request is sent) to the end of
   * its response body. Observing adds no request and changes none.
   */
  observeHttp(classify: HttpRequestClassifier): () => void {
    const onStart = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      const named = classify(request);
      if (!named) return;
      const start = performance.now();
      this.record(named.service, named.command, 0);
      request.once('response', (response: IncomingMessage) => {
        response.once('end', () => this.addTime(named.service, performance.now() - start));
      });
    };
    diagnostics.subscribe('http.client.request.start', onStart);
    return () => { diagnostics.unsubscribe('http.client.request.start', onStart); };
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
    const count = this.countOf(service);
    count.requests += 1;
    count.ms += ms;
    count.byCommand.set(command, (count.byCommand.get(command) ?? 0) + 1);
  }

  private addTime(service: string, ms: number): void {
    this.countOf(service).ms += ms;
  }

  private countOf(service: string) {
    let count = this.counts.get(service);
    if (!count) this.counts.set(service, count = { requests: 0, ms: 0, byCommand: new Map() });
    return count;
  }
}

/**
 * The S3 operation an HTTP request is: the SDK's `x-id` query parameter where it sends one, else
 * from the method, path-style path, query and headers (anything else is named by its method).
 */
export function s3CommandOf(request: ClientRequest): string {
  const url = new URL(request.path, 'http://host');
  const query = url.searchParams;
  const sdkName = query.get('x-id');
  if (sdkName) return sdkName;
  const hasKey = url.pathname.split('/').filter((part) => part.length > 0).length > 1;
  const copy = request.getHeader('x-amz-copy-source') !== undefined;
  switch (request.method) {
    case 'GET':
      if (query.has('tagging')) return 'GetObjectTagging';
      if (query.has('versions')) return 'ListObjectVersions';
      if (query.has('uploads')) return 'ListMultipartUploads';
      if (query.has('uploadId')) return 'ListParts';
      return hasKey ? 'GetObject' : 'ListObjects';
    case 'HEAD':
      return hasKey ? 'HeadObject' : 'HeadBucket';
    case 'PUT':
      if (query.has('tagging')) return 'PutObjectTagging';
      if (query.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      if (query.has('delete')) return 'DeleteObjects';
      return 'POST';
    case 'DELETE':
      if (query.has('tagging')) return 'DeleteObjectTagging';
      return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return request.method;
  }
}

/** The operation of a JSON-protocol request (DynamoDB, SQS, Secrets Manager): `X-Amz-Target` is `<service>.<operation>`. */
export function jsonCommandOf(request: ClientRequest): { target: string; command: string } | undefined {
  const target = request.getHeader('x-amz-target');
  if (typeof target !== 'string') return undefined;
  const dot = target.lastIndexOf('.');
  return { target: target.slice(0, dot), command: target.slice(dot + 1) };
}
