import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedProject, result, type PackedProject, type Spawned } from './support/packed-project.js';
import { freePort, probeStatus } from './support/ports.js';

// Remote plugins as a user of the package runs them (docs/remote-plugins.md): certificates made with
// the package's createCertificateAuthority(), a host with the docs' `remote` option, and two replicas
// of a plugin the host does not spawn: one configured by the environment, one in code.

/** Certificates as "Certificates" in docs/remote-plugins.md makes them in code. */
const MAKE_CERTS = `import { createCertificateAuthority } from '@wwplugin/nestjs';
import { mkdirSync, writeFileSync } from 'node:fs';

const ca = await createCertificateAuthority();
const host = await ca.issue({ name: 'wwplugin-host', usage: 'server', hosts: ['127.0.0.1'] });
const ocr = await ca.issue({ name: 'ocr', usage: 'client' });
mkdirSync('certs', { recursive: true });
writeFileSync('certs/ca.crt', ca.cert);
writeFileSync('certs/host.crt', host.cert);
writeFileSync('certs/host.key', host.key, { mode: 0o600 });
writeFileSync('certs/ocr.crt', ocr.cert);
writeFileSync('certs/ocr.key', ocr.key, { mode: 0o600 });
`;

/** The plugin: "nothing changes in the plugin's code"; the second replica gives the docs' options in code. */
const OCR = `import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { bootstrapPlugin, PluginContext, PluginFunction, WwPluginModule } from '@wwplugin/nestjs/plugin';
import { interval, map, take } from 'rxjs';

@Injectable()
class OcrFunctions {
  constructor(private readonly ctx: PluginContext) {}
  @PluginFunction() read({ text }: { text: string }) { return text.toUpperCase(); }
  @PluginFunction() async whoami({ ms }: { ms: number }) {
    await new Promise((r) => setTimeout(r, ms));
    return process.env.OCR_LABEL;
  }
  @PluginFunction() async total(args: { ids: number[] }) { return this.ctx.callHost<number>('sum', args); }
  @PluginFunction() count({ to }: { to: number }) { return interval(5).pipe(take(to), map((n) => n + 1)); }
}

@Module({ imports: [WwPluginModule.forPlugin({ name: 'ocr', version: '1.0.0' })], providers: [OcrFunctions] })
class OcrPluginModule {}

if (process.env.OCR_HOST) {
  await bootstrapPlugin(OcrPluginModule, {
    remote: {
      host: process.env.OCR_HOST,
      tls: { ca: 'certs/ca.crt', cert: 'certs/ocr.crt', key: 'certs/ocr.key' },
      token: process.env.OCR_TOKEN,
      replica: 'in-code',
      backoff: { initialMs: 200, maxMs: 10_000 },
    },
    shutdownGraceMs: 20_000,
  });
} else {
  await bootstrapPlugin(OcrPluginModule);
}
`;

/** The docs' host module, on loopback with a port the system picks (logged). */
const HOST = `import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HostFunction, PluginHostService, WwPluginModule, type PluginEvent } from '@wwplugin/nestjs';
import { readFileSync } from 'node:fs';
import { firstValueFrom, toArray, timeout } from 'rxjs';

@Injectable()
class MathFunctions {
  @HostFunction() sum({ ids }: { ids: number[] }) { return ids.reduce((a, b) => a + b, 0); }
}

@Module({
  imports: [
    WwPluginModule.forRoot({
      remote: {
        listen: '127.0.0.1:0',
        tls: {
          ca: readFileSync('certs/ca.crt'),
          cert: readFileSync('certs/host.crt'),
          key: readFileSync('certs/host.key'),
        },
        plugins: [{ name: 'ocr', token: process.env.OCR_PLUGIN_TOKEN }],
      },
    }),
  ],
  providers: [MathFunctions],
})
class RemoteHostModule {}

const app = await NestFactory.createApplicationContext(RemoteHostModule, { logger: ['log', 'warn', 'error'] });
const host = app.get(PluginHostService);
const events: PluginEvent[] = [];
host.events().subscribe((e) => events.push(e));
/** Polls what no single event says (both replicas running); never longer than 30 s. */
async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const out: Record<string, unknown> = {};
try {
  out.before = host.list().map((p) => [p.name, p.state]);
  // whileRestarting 'wait' (the default): the call waits for a replica to join.
  out.read = await host.call('ocr', 'read', { text: 'scanned' });
  await until(() => host.list().filter((p) => p.state === 'running').length === 2, 'two replicas');
  const replicas = host.list();
  out.replicas = replicas.map((p) => [p.name, p.state, p.pid ?? null, p.remote?.replica, /^127\\.0\\.0\\.1:\\d+$/.test(p.remote?.peer ?? '')]).sort();
  out.connected = events.filter((e) => e.type === 'connected').map((e) => e.type === 'connected' && e.replica).sort();
  // Calls by name go to the replica with the fewest in flight: concurrent ones reach both.
  out.spread = [...new Set(await Promise.all([1, 2, 3, 4, 5, 6].map(() => host.call('ocr', 'whoami', { ms: 100 }))))].sort();
  out.total = await host.call('ocr', 'total', { ids: [1, 2, 3, 4] });
  out.stream = await firstValueFrom(host.stream('ocr', 'count', { to: 3 }).pipe(toArray(), timeout(10_000)));
  // The test now stops the replica configured by the environment, as Kubernetes does (SIGTERM).
  console.log('STEP serving');
  await until(() => events.some((e) => e.type === 'disconnected'), 'a replica to leave');
  const gone = events.find((e) => e.type === 'disconnected')!;
  out.left = replicas.find((p) => p.id === gone.id)?.remote?.replica;
  out.after = await Promise.all([1, 2, 3].map(() => host.call('ocr', 'whoami', { ms: 0 })));
  out.states = host.list().map((p) => [p.remote?.replica, p.state]).sort();
} catch (err) {
  out.error = (err as Error).message;
} finally {
  await app.close();
}
console.log('RESULT ' + JSON.stringify(out));
`;

/** The status of a replica's probe. */

describe('remote plugins, from the packed package in a project outside the repository', () => {
  let project: PackedProject;
  const started: Spawned[] = [];
  const start = (args: string[], env: Record<string, string>) => {
    const s = project.spawn(args, env);
    started.push(s);
    return s;
  };

  beforeAll(async () => {
    project = await packedProject('remote');
  }, 300_000);

  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await Promise.all(started.map((s) => s.exited));
    project?.remove();
  });

  it('two replicas the host does not spawn join its mutual-TLS listener with a token; calls, host functions and streams cross; SIGTERM drains one, the other serves and outlives the host; probes say so', async () => {
    expect(project.installed.code, project.installed.out).toBe(0);
    project.write({ 'src/make-certs.ts': MAKE_CERTS, 'src/ocr.ts': OCR, 'src/remote-host.ts': HOST });
    const build = await project.tsc();
    expect(build.code, build.out).toBe(0);
    const certs = await project.node(['dist/make-certs.js']);
    expect(certs.code, certs.out).toBe(0);

    const token = 'ocr-token-0123456789';
    const [byEnvProbes, inCodeProbes] = [await freePort(), await freePort()];
    const host = start(['dist/remote-host.js'], { OCR_PLUGIN_TOKEN: token });
    const [, port] = await host.waitFor(/Listening for remote plugins on 127\.0\.0\.1:(\d+) \(mutual TLS\): ocr\./);
    // The variables of docs/remote-plugins.md; the key and token leave the environment at start.
    const byEnv = start(['dist/ocr.js'], {
      OCR_LABEL: 'by-env',
      WWPLUGIN_HOST: `127.0.0.1:${port}`,
      WWPLUGIN_TLS_CA: 'certs/ca.crt',
      WWPLUGIN_TLS_CERT: 'certs/ocr.crt',
      WWPLUGIN_TLS_KEY: 'certs/ocr.key',
      WWPLUGIN_TOKEN: token,
      WWPLUGIN_REPLICA: 'by-env',
      WWPLUGIN_HEALTH_PORT: String(byEnvProbes),
    });
    const inCode = start(['dist/ocr.js'], {
      OCR_LABEL: 'in-code',
      OCR_HOST: `127.0.0.1:${port}`,
      OCR_TOKEN: token,
      WWPLUGIN_HEALTH_PORT: String(inCodeProbes),
    });

    await host.waitFor(/^STEP serving$/m);
    // Kubernetes' probes: live, and ready once the host has welcomed the replica.
    expect([await probeStatus(byEnvProbes, '/livez'), await probeStatus(byEnvProbes, '/readyz'), await probeStatus(inCodeProbes, '/readyz')]).toEqual([
      200, 200, 200,
    ]);
    byEnv.child.kill('SIGTERM');
    expect(await byEnv.exited, byEnv.output()).toEqual({ code: 0, signal: null });
    expect(await host.exited, host.output()).toEqual({ code: 0, signal: null });
    expect(result(host.output())).toEqual({
      before: [['ocr', 'disconnected']],
      read: 'SCANNED',
      replicas: [
        ['ocr', 'running', null, 'by-env', true],
        ['ocr', 'running', null, 'in-code', true],
      ],
      connected: ['by-env', 'in-code'],
      spread: ['by-env', 'in-code'],
      total: 10,
      stream: [1, 2, 3],
      left: 'by-env',
      after: ['in-code', 'in-code', 'in-code'],
      states: [
        ['by-env', 'disconnected'],
        ['in-code', 'running'],
      ],
    });
    // The host has closed; the remote replica keeps running (its orchestrator decides), and dials again.
    await inCode.waitFor(new RegExp(`Lost the host at 127\\.0\\.0\\.1:${port} \\(.+\\); reconnecting in \\d+ ms\\.`));
    expect(inCode.child.exitCode).toBeNull();
    expect([await probeStatus(inCodeProbes, '/livez'), await probeStatus(inCodeProbes, '/readyz')]).toEqual([200, 503]);
    inCode.child.kill('SIGTERM');
    expect(await inCode.exited, inCode.output()).toEqual({ code: 0, signal: null });
  }, 180_000);
});
