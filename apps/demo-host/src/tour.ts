import { ClientProxy } from '@nestjs/microservices';
import { ParameterType, type PluginEvent, type PluginHostService } from '@wwplugin/nestjs';
import { request } from 'node:http';
import { inspect, isDeepStrictEqual } from 'node:util';
import { firstValueFrom, lastValueFrom, toArray, type Subscription } from 'rxjs';

/** What the tour needs besides the host service. */
export interface TourEnv {
  url: string;
  client: ClientProxy;
  plugin(name: string): string;
}

const step = (title: string) => console.log(`\n=== ${title}`);
const show = (label: string, value: unknown) => console.log(`  ${label}:`, typeof value === 'string' ? value : inspect(value, { depth: 4, breakLength: 140 }));

/** Walks through every feature, printing what happens. Throws if anything does not behave. */
export async function tour(host: PluginHostService, env: TourEnv): Promise<void> {
  const events: Subscription = host.events().subscribe((e: PluginEvent) => console.log(`  [event] ${describe(e)}`));
  try {
    step('1. Load the example plugins: each is a Nest app in its own process, with one gRPC session');
    for (const name of ['echo', 'relay', 'ticker']) {
      const info = await host.load(env.plugin(name));
      show('loaded', `${info.name}@${info.version} pid ${info.pid}, functions: ${info.functions.join(', ')}`);
    }

    step('2. list()');
    for (const p of host.list()) show(p.name, `${p.state}, pid ${p.pid}, restarts ${p.restarts}`);

    step('3. Calls with every parameter type (echo.echo returns its argument)');
    const values: unknown[] = ['Hello', 42, 2n ** 60n, 3.14, true, Buffer.from('bytes!'), { nested: [1, 'two'] }, null];
    for (const value of values) {
      const back = await host.call('echo', 'echo', { value });
      check(isDeepStrictEqual(back, value), `echo of ${kind(value)} came back as ${inspect(back)}`);
      show(kind(value), back);
    }
    show('greet, named arguments', await host.call('echo', 'greet', { name: 'Ada' }));
    show(
      'describe, seed-style Parameter[]',
      await host.call('echo', 'describe', [
        { name: 'who', type: ParameterType.STRING, value: 'Grace' },
        { name: 'n', type: ParameterType.INT, value: 7 },
      ]),
    );

    step('4. Errors are typed');
    for (const [label, run] of [
      ['unknown function', () => host.call('echo', 'nope')],
      ['handler threw', () => host.call('echo', 'fail', { message: 'disk full', code: 'E_DISK' })],
      ['wrong argument type', () => host.call('echo', 'greet', { name: 42 })],
      ['deadline', () => host.call('ticker', 'ticks', { count: 50, everyMs: 100 }, { timeoutMs: 200 })],
      ['unknown plugin', () => host.call('ghost', 'greet')],
    ] as const) {
      const err = (await run().then(
        () => new Error('no error?!'),
        (e: Error) => e,
      )) as Error & { remoteCode?: string };
      show(label, `${err.name}: ${err.message}${err.remoteCode ? ` (code ${err.remoteCode})` : ''}`);
    }

    step('5. A plugin calls a host function (echo.total -> @HostFunction sum)');
    const total = await host.call('echo', 'total', { ids: [1, 2, 3, 4] });
    check(total === 10, `echo.total gave ${total}`);
    show('echo.total({ ids: [1, 2, 3, 4] })', total);

    step('6. Plugin-to-plugin through the host (relay -> echo), and a call the host refuses');
    show('relay.greet', await host.call('relay', 'greet', { name: 'Margaret' }));
    show('relay.sum (one echo.add per value)', await host.call('relay', 'sum', { values: [5, 6, 7] }));
    const refused = (await host.call('relay', 'forward', { target: 'echo', fn: 'fail', args: { message: 'x' } }).catch((e) => e)) as Error;
    check(refused.name === 'PluginCallForbiddenError', `the refused call gave ${refused.name}`);
    show('relay.forward -> echo.fail', `${refused.name}: ${refused.message}`);

    step('7. Streaming: ticker.ticks returns an Observable; the host gets every value');
    show('host.stream(ticker, ticks, { count: 3 })', await lastValueFrom(host.stream('ticker', 'ticks', { count: 3, everyMs: 20 }).pipe(toArray())));

    step('8. Messages from plugins as an Observable, and as Server-Sent Events over HTTP');
    const sse = readSse(`${env.url}/events/ticks`, 2);
    const viaObservable = firstValueFrom(host.messages('ticks', 'ticker'));
    await host.call('ticker', 'startTicking', { everyMs: 50, topic: 'ticks' });
    show('host.messages(ticks)', await viaObservable);
    show(`GET /events/ticks (SSE)`, await sse);
    await host.call('ticker', 'stopTicking');

    step('9. Push from the host: ticker resets its counter on "ticker.reset" (@OnPush)');
    show('push to ticker', host.push('ticker', 'ticker.reset', { to: 100 }));
    const afterReset = firstValueFrom(host.messages('ticks', 'ticker'));
    await host.call('ticker', 'startTicking', { everyMs: 50, topic: 'ticks' });
    show('next tick after the reset', await afterReset);
    await host.call('ticker', 'stopTicking');
    show("push to '*' reaches", `${host.push('*', 'hello', { from: 'host' })} plugins`);

    step('10. The Nest ClientProxy idiom: client.send / client.emit');
    show("client.send({ plugin: 'echo', fn: 'greet' })", await firstValueFrom(env.client.send({ plugin: 'echo', fn: 'greet' }, { name: 'Barbara' })));
    await firstValueFrom(env.client.emit({ plugin: 'ticker', topic: 'ticker.reset' }, { to: 0 }), { defaultValue: undefined });
    show('client.emit({ plugin: ticker, topic: ticker.reset })', 'pushed');

    step('11. HTTP endpoints of the demo host');
    show('GET /greet?name=Linus', await (await fetch(`${env.url}/greet?name=Linus`)).text());
    show('GET /health', await (await fetch(`${env.url}/health`)).json());

    step('12. Crash: SIGKILL the ticker; the supervisor restarts it and it serves again');
    const before = host.get('ticker')!;
    const back = waitForEvent(host, (e) => e.type === 'restarted' && e.plugin === 'ticker');
    process.kill(before.pid!, 'SIGKILL');
    await back;
    const after = host.get('ticker')!;
    check(after.state === 'running' && after.pid !== before.pid && after.restarts === 1, `ticker after the crash: ${inspect(after)}`);
    show('ticker', `pid ${before.pid} -> ${after.pid}, state ${after.state}, restarts ${after.restarts}, last exit ${after.lastExit?.signal}`);
    show('ticker.ticks after the restart', await lastValueFrom(host.stream('ticker', 'ticks', { count: 2, everyMs: 10 }).pipe(toArray())));

    step('13. stop(), start(), unload()');
    show('stop relay', (await host.stop('relay')).state);
    const notRunning = (await host.call('relay', 'greet', { name: 'x' }).catch((e) => e)) as Error;
    show('call while stopped', `${notRunning.name}: ${notRunning.message}`);
    show('start relay', (await host.start('relay')).state);
    await host.unload('relay');
    show(
      'after unload relay, list()',
      host.list().map((p) => `${p.name}:${p.state}`),
    );
  } finally {
    events.unsubscribe();
  }
}

/** The demo is also a test (test/demo-host.e2e-spec.ts): a step that misbehaves stops it. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`Demo check failed: ${what}`);
}

function waitForEvent(host: PluginHostService, match: (e: PluginEvent) => boolean, ms = 15_000): Promise<PluginEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error('timed out waiting for an event'));
    }, ms);
    const sub = host.events().subscribe((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(e);
    });
  });
}

/** Reads `count` events from an SSE endpoint with plain node:http. */
export function readSse(url: string, count: number, ms = 15_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`only ${got.length} of ${count} SSE events from ${url} within ${ms} ms`));
    }, ms);
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split('\n').find((l) => l.startsWith('data:'));
          if (data) got.push(JSON.parse(data.slice(5)));
          if (got.length === count) {
            clearTimeout(timer);
            req.destroy();
            resolve(got);
          }
        }
      });
    });
    req.on('error', (err) => (got.length >= count ? undefined : reject(err)));
    req.end();
  });
}

function describe(e: PluginEvent): string {
  const { type, plugin, ...rest } = e as PluginEvent & Record<string, unknown>;
  delete (rest as Record<string, unknown>).id;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${type} ${plugin}${extra ? ` (${extra})` : ''}`;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int beyond 2^53 (bigint)';
  return typeof v === 'object' ? 'json' : typeof v;
}
