// npm run bench:remote: a host→remote plugin call over mutual TLS across a veth link between two
// network namespaces (root only), against raw grpc-js unary calls with the same mTLS over the same
// link, in the same run: p50 latency (one call at a time) and calls/s with 64 in flight, as ratios.
// `--quick` runs shorter. Numbers from a shared machine are noisy: rerun on a quiet one.
import { createCertificateAuthority } from '@wwplugin/nestjs';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createNetnsPair, netnsUnavailable } from '../test/support/netns.js';
import { DIST_BENCH } from './support/paths.js';

interface Result {
  p50: number;
  p99: number;
  rate: number;
}

const quick = process.argv.includes('--quick');
const payloadBytes = 64;

/** The first JSON line a child prints (after which it may keep running), or its failure. */
function firstLine<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      lines.close();
      resolve(JSON.parse(line) as T);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before answering:\n${stderr}`)));
  });
}

async function main(): Promise<void> {
  const unavailable = netnsUnavailable();
  if (unavailable) throw new Error(`bench:remote needs two network namespaces, but ${unavailable}.`);
  const pair = createNetnsPair();
  const dir = mkdtempSync(join(tmpdir(), 'wwbench-remote-'));
  try {
    const ca = await createCertificateAuthority({ name: 'bench CA' });
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const caPath = file('ca.crt', ca.cert);
    const hostPem = await ca.issue({ name: 'bench-host', usage: 'server', hosts: [pair.hostIp] });
    const rawServerPem = await ca.issue({ name: 'bench-raw', usage: 'server', hosts: [pair.pluginIp] });
    const pluginPem = await ca.issue({ name: 'bench', usage: 'client' });
    const child = DIST_BENCH + 'remote-child.js';
    const base = { ca: caPath, payloadBytes, quick, plugin: 'bench' };

    // Raw reference: the same direction (host namespace calls the plugin namespace), same mTLS.
    const rawServer = pair.spawnIn(pair.pluginNs, process.execPath, [
      child,
      'raw-server',
      JSON.stringify({ ...base, listen: `${pair.pluginIp}:7600`, cert: file('raw.crt', rawServerPem.cert), key: file('raw.key', rawServerPem.key) }),
    ]);
    await firstLine(rawServer, 'the raw server');
    const rawClient = pair.spawnIn(pair.hostNs, process.execPath, [
      child,
      'raw-client',
      JSON.stringify({ ...base, address: `${pair.pluginIp}:7600`, cert: file('plugin.crt', pluginPem.cert), key: file('plugin.key', pluginPem.key) }),
    ]);
    const raw = await firstLine<Result>(rawClient, 'the raw client');
    rawServer.kill();

    const host = pair.spawnIn(pair.hostNs, process.execPath, [
      child,
      'host',
      JSON.stringify({ ...base, listen: `${pair.hostIp}:7443`, cert: file('host.crt', hostPem.cert), key: file('host.key', hostPem.key) }),
    ]);
    const hostLines = createInterface({ input: host.stdout! });
    const results = new Promise<Result>((resolve) => hostLines.on('line', (line) => line.includes('"rate"') && resolve(JSON.parse(line) as Result)));
    const plugin = pair.spawnIn(pair.pluginNs, process.execPath, [DIST_BENCH + 'plugin/main.js'], {
      env: {
        PATH: process.env.PATH,
        BENCH_PLUGIN_NAME: 'bench',
        WWPLUGIN_HOST: `${pair.hostIp}:7443`,
        WWPLUGIN_TLS_CA: caPath,
        WWPLUGIN_TLS_CERT: join(dir, 'plugin.crt'),
        WWPLUGIN_TLS_KEY: join(dir, 'plugin.key'),
      },
    });
    plugin.stdout!.resume();
    plugin.stderr!.resume();
    const framework = await results;
    plugin.kill();

    const rows = [
      ['raw grpc-js unary, mTLS', raw],
      ['host → remote plugin, mTLS', framework],
    ] as const;
    console.log(`bench:remote (${quick ? 'quick' : 'full'}), ${payloadBytes}-byte payload, veth link between two network namespaces`);
    console.log('| path | p50 (µs) | p99 (µs) | calls/s at 64 in flight |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [label, r] of rows) console.log(`| ${label} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.rate.toFixed(0)} |`);
    console.log(
      `| ratio (framework / raw) | ${(framework.p50 / raw.p50).toFixed(2)}x | ${(framework.p99 / raw.p99).toFixed(2)}x | ${(framework.rate / raw.rate).toFixed(2)}x |`,
    );
    console.log(JSON.stringify({ raw, framework, ratios: { p50: framework.p50 / raw.p50, rate: framework.rate / raw.rate } }));
  } finally {
    pair.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
