import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { AddressInfo, connect, Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { createServer } from 'tls';

/**
 * A TLS front for a moto server: https://127.0.0.1:PORT terminates TLS with a self-signed
 * certificate (made with openssl) and passes the bytes unchanged to the plain-http endpoint, so a
 * client can reach the same emulated partition (its buckets, its IAM-checked signatures) over https,
 * as the replicator reaches S3. moto's own --ssl would be a second, empty moto process.
 */
export interface TlsProxy {
  readonly endpoint: string;
  /** The certificate to trust (it is its own CA). */
  readonly ca: Buffer;
  close(): Promise<void>;
}

export async function startTlsProxy(target: string): Promise<TlsProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-proxy-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const key = readFileSync(join(dir, 'key.pem'));
    const ca = readFileSync(join(dir, 'cert.pem'));
    const { hostname, port } = new URL(target);
    const sockets = new Set<Socket>();
    const server = createServer({ key, cert: ca }, (client) => {
      const upstream = connect(Number(port), hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      endpoint: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      ca,
      close: () => new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
