import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CallObservers, PluginHostService, PluginMetrics, WwPluginMetricsController, WwPluginModule } from '@wwplugin/nestjs';
import { firstValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../apps/demo-host/src/app.module.js';
import { APP, fixture, until } from './support/host-harness.js';

/** The value of one series in Prometheus' text format; 0 when it is not there (yet). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[2]);
  }
  return 0;
}

describe('Prometheus metrics of the demo host, scraped at /metrics', () => {
  let app: INestApplication;
  let host: PluginHostService;
  let url: string;
  const scrape = async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };
  /** Waits until `check` holds for a fresh scrape; returns that scrape. */
  const scrapeUntil = async (check: (text: string) => boolean, what: string) => {
    let text = '';
    await until(async () => check((text = await scrape())), 10_000, what);
    return text;
  };

  beforeAll(async () => {
    app = await NestFactory.create(AppModule, { logger: process.env.TEST_LOGS ? undefined : ['error'] });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
    host = app.get(PluginHostService);
    await Promise.all([host.load(APP('echo')), host.load(APP('ticker')), host.load(fixture('slow', 'deadlines'))]);
  }, 30_000);

  afterAll(async () => {
    await app?.close();
  });

  it('counts calls per plugin and function, their errors by code, and their latency', async () => {
    const echo = { plugin: 'echo', function: 'greet', kind: 'call' };
    const before = await scrape();
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 3; i++) await host.call('echo', 'greet', { name: `${big}${i}` });
    await expect(host.call('echo', 'fail', { message: 'no', code: 'E_DEMO' })).rejects.toThrow('no');
    await expect(host.call('echo', 'nope')).rejects.toThrow();
    const after = await scrape();
    expect(sample(after, 'wwplugin_calls_total', echo) - sample(before, 'wwplugin_calls_total', echo)).toBe(3);
    expect(sample(after, 'wwplugin_call_duration_seconds_count', echo) - sample(before, 'wwplugin_call_duration_seconds_count', echo)).toBe(3);
    expect(sample(after, 'wwplugin_call_duration_seconds_sum', echo)).toBeGreaterThan(0);
    expect(sample(after, 'wwplugin_call_errors_total', { plugin: 'echo', function: 'fail', code: 'E_DEMO' })).toBe(1);
    // Names that do not exist share one series, however many a caller makes up.
    expect(sample(after, 'wwplugin_call_errors_total', { plugin: 'echo', function: '(unknown)', code: 'UNKNOWN_FUNCTION' })).toBe(1);
    expect(after).not.toContain('function="nope"');
    // 100 kB went out in each greeting's argument and came back in its answer.
    for (const direction of ['in', 'out']) {
      expect(sample(after, 'wwplugin_session_bytes_total', { direction }) - sample(before, 'wwplugin_session_bytes_total', { direction })).toBeGreaterThan(
        300_000,
      );
    }
  });

  it('counts streams and pulled iterations as their own kinds, a loop left early as CANCELLED', async () => {
    const ticks = await firstValueFrom(host.stream('ticker', 'ticks', { count: 3, everyMs: 1 }).pipe(toArray()));
    expect(ticks).toHaveLength(3);
    for await (const tick of host.iterate<{ n: number }>('ticker', 'ticks', { count: 100, everyMs: 1 })) if (tick.n === 2) break;
    const text = await scrape();
    expect(sample(text, 'wwplugin_calls_total', { plugin: 'ticker', function: 'ticks', kind: 'stream' })).toBe(1);
    expect(sample(text, 'wwplugin_calls_total', { plugin: 'ticker', function: 'ticks', kind: 'iterate' })).toBe(1);
    expect(sample(text, 'wwplugin_call_errors_total', { plugin: 'ticker', function: 'ticks', kind: 'iterate', code: 'CANCELLED' })).toBe(1);
    expect(sample(text, 'wwplugin_calls_in_flight', { plugin: 'ticker', function: 'ticks', kind: 'iterate' })).toBe(0);
  });

  it('shows a call in flight until it ends', async () => {
    const series = { plugin: 'slow', function: 'dlHang', kind: 'call' };
    const stop = new AbortController();
    const hanging = host.call('slow', 'dlHang', { tag: 'm' }, { signal: stop.signal }).catch((e: Error) => e);
    await scrapeUntil((t) => sample(t, 'wwplugin_calls_in_flight', series) === 1, 'one call in flight');
    stop.abort();
    await hanging;
    const text = await scrape();
    expect(sample(text, 'wwplugin_calls_in_flight', series)).toBe(0);
    expect(sample(text, 'wwplugin_call_errors_total', { ...series, code: 'CANCELLED' })).toBe(1);
  });

  it('counts pushes to a plugin and the messages it emits', async () => {
    const before = sample(await scrape(), 'wwplugin_pushes_total', { plugin: 'ticker' });
    host.push('ticker', 'ticker.reset', { to: 0 });
    host.push('ticker', 'ticker.reset', { to: 0 });
    expect(sample(await scrape(), 'wwplugin_pushes_total', { plugin: 'ticker' }) - before).toBe(2);
    expect(sample(await scrape(), 'wwplugin_pushes_dropped_total', { plugin: 'ticker' })).toBe(0);
    await host.call('ticker', 'startTicking', { everyMs: 20, topic: 'metrics.ticks' });
    try {
      await scrapeUntil((t) => sample(t, 'wwplugin_emits_total', { plugin: 'ticker' }) >= 3, 'three emits');
    } finally {
      await host.call('ticker', 'stopTicking');
    }
  });

  it("samples each plugin process's memory and CPU, and its heartbeat round trip", async () => {
    const text = await scrapeUntil((t) => sample(t, 'wwplugin_heartbeat_rtt_seconds', { plugin: 'echo' }) > 0, 'a heartbeat answered');
    expect(sample(text, 'wwplugin_plugin_up', { plugin: 'echo' })).toBe(1);
    expect(sample(text, 'wwplugin_plugin_resident_memory_bytes', { plugin: 'echo' })).toBeGreaterThan(10 * 1024 * 1024);
    expect(sample(text, 'wwplugin_plugin_cpu_seconds_total', { plugin: 'echo' })).toBeGreaterThan(0);
  });

  it('counts a crash by its reason, the restart, and the wait of a call made meanwhile', async () => {
    const pid = host.get('echo')!.pid!;
    process.kill(pid, 'SIGKILL');
    await until(() => host.get('echo')!.state !== 'running', 5_000, 'echo seen down');
    // The demo host lets calls wait for a restarting plugin: this one waits (longer than the demo's
    // default deadline, for a loaded machine), and says so.
    expect(await host.call('echo', 'greet', { name: 'back' }, { timeoutMs: 50_000 })).toBe('Hello, back');
    const text = await scrape();
    expect(sample(text, 'wwplugin_plugin_crashes_total', { plugin: 'echo', reason: 'SIGKILL' })).toBe(1);
    expect(sample(text, 'wwplugin_plugin_restarts_total', { plugin: 'echo' })).toBe(1);
    expect(sample(text, 'wwplugin_call_queue_wait_seconds_count', { plugin: 'echo', function: 'greet' })).toBe(1);
    expect(sample(text, 'wwplugin_plugin_up', { plugin: 'echo' })).toBe(1);
  }, 60_000);
});

@Module({ imports: [WwPluginModule.forRoot({ plugins: [APP('echo')] })], controllers: [WwPluginMetricsController] })
class MetricsOffModule {}

describe('metrics left off', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await NestFactory.create(MetricsOffModule, { logger: false });
    await app.listen(0, '127.0.0.1');
  }, 30_000);

  afterAll(async () => {
    await app?.close();
  });

  it('observe nothing, and the endpoint says how to turn them on', async () => {
    expect(app.get(CallObservers).active).toBe(false);
    expect(app.get(PluginMetrics).enabled).toBe(false);
    await app.get(PluginHostService).call('echo', 'greet', { name: 'x' });
    const res = await fetch(`${await app.getUrl()}/metrics`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toContain('forRoot({ metrics: true })');
  });
});
