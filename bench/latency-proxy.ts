// A simulated cross-partition link on loopback: the kernel's netem is not available on these
// machines, so a TCP proxy (node:net) forwards bytes both ways, each chunk delayed by a fixed time
// from its arrival. A delay line, not a bandwidth limit: every chunk leaves at its arrival + delay
// (never later because of the chunk before it), and order per connection and direction is kept.
// A new connection also pays the TCP handshake's round trip before its first byte goes through,
// as over a real link (no TLS is simulated: that would add one or two more round trips per connection).
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LatencyProxy {
  /** http(s)://127.0.0.1:PORT, the target's scheme (TLS passes through): the endpoint to give a client in place of the target's. */
  readonly endpoint: string;
  readonly port: number;
  readonly oneWayMs: number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Closes the listener and every open connection. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) to `target`, adding `oneWayMs` to each direction. */
export async function startLatencyProxy(target: { host: string; port: number; protocol?: string }, oneWayMs: number): Promise<LatencyProxy> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    accepted++;
    // The handshake over the link: SYN and SYN-ACK take one round trip before the client can send.
    const established = performance.now() + 2 * oneWayMs;
    const upstream = net.connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    delayLine(client, upstream, oneWayMs, established);
    delayLine(upstream, client, oneWayMs, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `${target.protocol ?? 'http:'}//127.0.0.1:${port}`,
    port,
    oneWayMs,
    connections: () => accepted,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return stopped;
    },
  };
}

/**
 * Forwards `from` to `to`, each chunk (and the end of the stream) written `delayMs` after it
 * arrived, but not before `notBefore` + `delayMs`. One timer per direction, set for the head of the
 * queue: due times only grow, so a chunk never waits for another beyond its own due time.
 */
function delayLine(from: net.Socket, to: net.Socket, delayMs: number, notBefore: number): void {
  const queue: Array<{ due: number; chunk?: Buffer }> = []; // chunk undefined: the sender's FIN
  let timer: NodeJS.Timeout | undefined;
  const release = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now) {
      const { chunk } = queue.shift()!;
      if (to.destroyed || to.writableEnded) return;
      if (chunk) {
        // Backpressure from a slow receiver holds the sender (TCP would), without delaying what is queued.
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      } else {
        to.end();
      }
    }
    schedule();
  };
  const schedule = () => {
    if (timer || queue.length === 0) return;
    // Timers run on the loop's millisecond clock and can fire up to 1 ms early: rounded up, and an
    // early firing only sets the timer again (release takes nothing that is not due).
    timer = setTimeout(release, Math.max(1, Math.ceil(queue[0].due - performance.now())));
  };
  const enqueue = (chunk?: Buffer) => {
    queue.push({ due: Math.max(performance.now(), notBefore) + delayMs, chunk });
    schedule();
  };
  from.on('data', (chunk: Buffer) => enqueue(chunk));
  from.once('end', () => enqueue());
  from.once('close', () => {
    // An abrupt close (reset) goes through at once; a clean end was queued above and closes in order.
    if (!from.readableEnded) to.destroy();
  });
  to.once('close', () => { if (timer) clearTimeout(timer); queue.length = 0; from.destroy(); });
}

/**
 * TCP round trips through a proxy, on an open connection: a proxy in front of an echo server on
 * loopback, one byte at a time sent after a first exchange (which pays the handshake), each timed
 * until it is back. A working proxy gives at least 2 × oneWayMs every time; a broken one (no delay)
 * well under 1 ms. The median is the link's round trip; the least shows the delay is never skipped.
 */
export async function measureRoundTrip(oneWayMs: number, samples = 7): Promise<{ medianMs: number; minMs: number }> {
  const echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  const proxy = await startLatencyProxy({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port }, oneWayMs);
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port, noDelay: true });
  try {
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    const exchange = () => new Promise<number>((resolve) => {
      const start = performance.now();
      socket.once('data', () => resolve(performance.now() - start));
      socket.write('x');
    });
    await exchange();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await exchange());
    times.sort((a, b) => a - b);
    return { medianMs: times[Math.floor(times.length / 2)], minMs: times[0] };
  } finally {
    socket.destroy();
    await proxy.stop();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
}
