import { createServer, type AddressInfo } from 'node:net';

/** A port free on loopback now, for what takes a number rather than 0 (probes, a remote listener whose port only its log says). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The HTTP status of a GET of `path` on a loopback port (a plugin's /livez and /readyz probes). */
export async function probeStatus(port: number, path: string): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
}
