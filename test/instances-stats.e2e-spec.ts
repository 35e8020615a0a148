// The plugins page counts each call on the row of the instance that served it: calls by name spread
// over a plugin's instances show on every instance's row, not on the one get(name) returns. And
// Prometheus gives each instance its own per-process series.
import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginAdminModule, WwPluginMetricsController, WwPluginModule, type AdminPluginRow, type AdminSnapshot } from '@wwplugin/nestjs';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, isAlive } from './support/host-harness.js';

describe('plugins page: call figures per instance', () => {
  let app: INestApplication;
  let host: PluginHostService;
  let url: string;
  let base: string;

  beforeAll(async () => {
    @Module({ imports: [WwPluginModule.forRoot({ heartbeat: false, metrics: true }), WwPluginAdminModule.forRoot()], controllers: [WwPluginMetricsController] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${port}`;
    url = `${base}/wwplugin`;
    host = app.get(PluginHostService);
  }, 30_000);

  afterAll(async () => {
    const pids = host?.list().map((p) => p.pid) ?? [];
    await app?.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  }, 30_000);

  const rows = async (name: string): Promise<AdminPluginRow[]> =>
    ((await (await fetch(`${url}/api/plugins`)).json()) as AdminSnapshot).plugins.filter((p) => p.name === name);

  it('calls and streams by name that two instances served show on both rows, each as many as it served', async () => {
    await host.load({ ...fixture('pool', 'instances'), instances: 2 });
    const before = await rows('pool');
    expect(before.map((r) => [r.instance, r.callsPerSec, r.p50Ms])).toEqual([
      [0, 0, null],
      [1, 0, null],
    ]);
    // Issued together: each goes to the instance with fewer in flight, so both serve some.
    const answered = await Promise.all([
      ...Array.from({ length: 4 }, () => host.call<number>('pool', 'instHold', { ms: 300 })),
      ...Array.from({ length: 2 }, () => lastValueFrom(host.stream<number>('pool', 'instHold', { ms: 300 }))),
    ]);
    const served = (pid: number | null) => answered.filter((p) => p === pid).length;
    const after = await rows('pool');
    expect(after.map((r) => served(r.pid))).toEqual([3, 3]);
    // calls/s is over the last 10 s: every call counts on the row of the instance that answered it.
    expect(after.map((r) => r.callsPerSec)).toEqual(after.map((r) => served(r.pid) / 10));
    // Latency samples (one-value calls only) on both rows too.
    for (const r of after) expect(r.p50Ms).toBeGreaterThan(0);
    expect(after.map((r) => r.errorRate)).toEqual([0, 0]);
  }, 60_000);

  it('a call by id counts on that instance only', async () => {
    await host.load({ ...fixture('byid', 'instances'), instances: 2 });
    const [, second] = await rows('byid');
    for (let i = 0; i < 2; i++) await host.call(second.id, 'instWhoami');
    expect((await rows('byid')).map((r) => [r.instance, r.callsPerSec, r.p50Ms === null])).toEqual([
      [0, 0, true],
      [1, 0.2, false],
    ]);
  }, 60_000);

  it('Prometheus: each instance has its own process series, labelled plugin_instance', async () => {
    const [first, second] = await host.load({ ...fixture('scraped', 'instances'), instances: 2 }).then(() => host.list().filter((p) => p.name === 'scraped'));
    expect([first.pid, second.pid].every((pid) => typeof pid === 'number') && first.pid !== second.pid).toBe(true);
    const text = await (await fetch(`${base}/metrics`)).text();
    const series = (name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${name}{plugin="scraped",`))
        .map((l) => /plugin_instance="(\d+)"\} (\S+)$/.exec(l)!.slice(1));
    expect(series('wwplugin_plugin_up')).toEqual([
      ['0', '1'],
      ['1', '1'],
    ]);
    // Read from each process's /proc: two processes, two figures.
    const rss = series('wwplugin_plugin_resident_memory_bytes');
    expect(rss.map(([i]) => i)).toEqual(['0', '1']);
    for (const [, bytes] of rss) expect(Number(bytes)).toBeGreaterThan(10 * 1024 * 1024);
    expect(series('wwplugin_plugin_cpu_seconds_total').map(([i]) => i)).toEqual(['0', '1']);
  }, 60_000);
});
