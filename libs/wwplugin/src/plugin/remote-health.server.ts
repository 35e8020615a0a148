import { Logger } from '@nestjs/common';
import { createServer, type Server } from 'node:http';

/** Environment variable that turns on the probe endpoints of a remote plugin. */
export const ENV_HEALTH_PORT = 'WWPLUGIN_HEALTH_PORT';

/**
 * Kubernetes probes of a remote plugin, on plain HTTP: `/livez` answers 200 while the process's
 * event loop runs, `/readyz` 200 only while the host has welcomed it (else 503). A blocked event
 * loop answers neither, so the orchestrator restarts a hung plugin as the host restarts a local one.
 */
export class RemoteHealthServer {
  private readonly logger = new Logger('WwPluginHealth');
  private server?: Server;

  constructor(private readonly ready: () => boolean) {}

  /** Listens on `port` (all interfaces: probes come from the node's kubelet). */
  listen(port: number): Promise<void> {
    const server = (this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const status = path === '/livez' ? 200 : path === '/readyz' ? (this.ready() ? 200 : 503) : 404;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok\n' : status === 503 ? 'not joined to the host\n' : 'not found\n');
    }));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => {
        this.logger.log(`Probes on :${port} (/livez, /readyz).`);
        resolve();
      });
    });
  }

  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
  }
}
