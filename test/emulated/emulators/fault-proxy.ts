import { createServer, IncomingHttpHeaders, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';

/**
 * Where a fault strikes: at the k-th request (1-based) the code under test makes, counting each
 * SDK call once however often the SDK retries it (its `amz-sdk-invocation-id`).
 * - `crash`: request k succeeds, then the process is dead: every later request fails to connect.
 * - `refuse`: every attempt of request k is answered 503, until the SDK gives up.
 * - `lose-response`: request k reaches the server and is applied; its response is lost (the
 *   connection drops). The SDK's own retry of it, if any, goes through.
 */
export type FaultKind = 'crash' | 'refuse' | 'lose-response';
export interface Fault {
  readonly at: number;
  readonly kind: FaultKind;
  /** `refuse` only: how many attempts are refused (default: all, until the SDK gives up). */
  readonly attempts?: number;
}

/** The requests and faults of every proxy sharing it: one numbering across source and destination. */
export class FaultPlan {
  /** What each request was, in order (method, path and DynamoDB/SQS target). */
  readonly requests: string[] = [];
  /** How many times each request was sent (the SDK's retries included), by its number. */
  readonly attempts = new Map<number, number>();
  private readonly seen = new Map<string, number>();
  private fault?: Fault;
  private dead = false;

  /** Starts counting afresh, with this fault armed (or none). */
  arm(fault?: Fault): void {
    this.requests.length = 0;
    this.attempts.clear();
    this.seen.clear();
    this.fault = fault;
    this.dead = false;
  }

  /** The process came back (a new invocation): no fault from here on. */
  disarm(): void {
    this.fault = undefined;
    this.dead = false;
  }

  get crashed(): boolean {
    return this.dead;
  }

  /** Whether the armed fault's request has been reached. */
  get fired(): boolean {
    return this.fault !== undefined && this.requests.length >= this.fault.at;
  }

  /** What to do with one attempt: its request's number, and the fault that applies to it. */
  classify(invocationId: string, label: string): { index: number; fault?: FaultKind; firstAttempt: boolean } {
    if (this.dead) return { index: -1, fault: 'crash', firstAttempt: false };
    let index = this.seen.get(invocationId);
    const firstAttempt = index === undefined;
    if (index === undefined) {
      this.requests.push(label);
      index = this.requests.length;
      this.seen.set(invocationId, index);
    }
    const attempt = (this.attempts.get(index) ?? 0) + 1;
    this.attempts.set(index, attempt);
    const struck = this.fault && this.fault.at === index && (this.fault.attempts === undefined || attempt <= this.fault.attempts);
    const fault = struck ? this.fault!.kind : undefined;
    if (fault === 'crash') this.dead = true;
    return { index, fault, firstAttempt };
  }
}

/** One request as it went over the wire to the server. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query string. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * An HTTP proxy on loopback in front of one emulator: every request is forwarded unchanged (Host
 * included, so SigV4 signatures still verify) and recorded as the client really sent it, after all
 * SDK middleware ran; with a plan, it also injects that plan's faults.
 */
export class FaultProxy {
  static async start(target: string, plan = new FaultPlan()): Promise<FaultProxy> {
    const proxy = new FaultProxy(new URL(target), plan);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Every request it received, in order. */
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;

  private constructor(private readonly target: URL, private readonly plan: FaultPlan) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const invocation = String(req.headers['amz-sdk-invocation-id'] ?? `${Math.random()}`);
    const target = req.headers['x-amz-target'] ? ` ${String(req.headers['x-amz-target']).split('.').pop()}` : '';
    const label = `${req.method} ${req.url?.split('?')[0]}${queryAction(req.url)}${target}`;
    const { fault, firstAttempt } = this.plan.classify(invocation, label);
    if (fault === 'crash' && this.plan.crashed && !firstAttempt) {
      // A dead process sends nothing: the client sees its connection fail, before any body is read
      // (a dead copy's part uploads would otherwise push megabytes through the proxy for nothing).
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    if (fault === 'refuse') {
      // In the protocol of the service asked: JSON for DynamoDB, SQS and Secrets Manager, XML for S3.
      if (String(req.headers['content-type'] ?? '').includes('json')) {
        res.writeHead(503, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable', message: 'Service unavailable' }));
      } else {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      }
      return;
    }
    const upstream = await this.forward(req, body);
    if (fault === 'lose-response' && firstAttempt) {
      req.socket.destroy();
      return;
    }
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      }, (response) => {
        void readBody(response).then((data) => {
          const headers = { ...response.headers } as Record<string, string | string[]>;
          delete headers['transfer-encoding'];
          headers['content-length'] = String(data.length);
          resolve({ status: response.statusCode ?? 502, headers, body: data });
        }, reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** The S3 sub-resource or query action that names the operation (`?uploads`, `?tagging`, `Action=`). */
function queryAction(url: string | undefined): string {
  const query = url?.split('?')[1];
  if (!query) return '';
  const names = query.split('&').map((pair) => pair.split('=')[0]).filter((name) => !['versionId', 'x-id', 'partNumber', 'uploadId', 'prefix', 'max-keys'].includes(name));
  return names.length > 0 ? `?${names.join('&')}` : '';
}
