import { createServer, IncomingHttpHeaders, request, Server } from 'http';
import { AddressInfo } from 'net';

/** One request as it went over the wire to the server. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query string. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * A transparent HTTP proxy on loopback in front of an emulator: every request is forwarded
 * unchanged (Host included, so SigV4 signatures still verify) and its method, URL and headers are
 * recorded. It observes what a client really sends, after all SDK middleware has run.
 */
export class RecordingProxy {
  static async start(target: string): Promise<RecordingProxy> {
    const proxy = new RecordingProxy(new URL(target));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;

  private constructor(private readonly target: URL) {
    this.server = createServer((incoming, outgoing) => {
      this.requests.push({ method: incoming.method ?? '', url: incoming.url ?? '', headers: incoming.headers });
      const forwarded = request({
        host: this.target.hostname,
        port: this.target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      }, (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      });
      forwarded.on('error', (error) => outgoing.destroy(error));
      incoming.pipe(forwarded);
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
