import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo, Server } from 'node:net';
import { AdminPageExposedError } from '../errors/wwplugin.errors.js';
import { ADMIN_PAGE_EXPOSED } from '../wwplugin.messages.js';
import { AdminGuard } from './admin.guard.js';

/** True for an address only this machine can reach: 127.0.0.0/8, ::1, their IPv4-mapped form, or a unix socket. */
export function isLoopback(address: AddressInfo | string | null): boolean {
  if (address === null || typeof address === 'string') return true;
  const ip = address.address.replace(/^::ffff:/i, '');
  return ip === '::1' || /^127\.\d+\.\d+\.\d+$/.test(ip);
}

/**
 * Without a guard, the page may only be reachable from this machine. The address is known when the
 * HTTP server starts listening: a wider one closes the server and fails `app.listen()` with
 * AdminPageExposedError (Nest rejects listen() on the server's 'error').
 */
@Injectable()
export class AdminExposureCheck implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: AdminGuard,
  ) {}

  onApplicationBootstrap(): void {
    if (this.guard.configured) return;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    if (server.listening) return this.assertLoopback(server);
    // Ahead of Nest's own listen callback, which would otherwise report the app as listening.
    server.prependListener('listening', () => {
      try {
        this.assertLoopback(server);
      } catch (err) {
        server.emit('error', err);
        // Closed once every 'listening' listener has run (before any connection is accepted):
        // Fastify's reads the address, which a closed server no longer has.
        process.nextTick(() => server.close());
      }
    });
  }

  private assertLoopback(server: Server): void {
    const address = server.address();
    if (isLoopback(address)) return;
    const { address: ip, port } = address as AddressInfo;
    throw new AdminPageExposedError(ADMIN_PAGE_EXPOSED(`${ip.includes(':') ? `[${ip}]` : ip}:${port}`), { address: ip, port });
  }
}
