import type { MotoServer } from './moto-server';

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { __motoServers?: MotoServer[] }).__motoServers ?? [];
  await Promise.all(servers.map((server) => server.stop()));
}
