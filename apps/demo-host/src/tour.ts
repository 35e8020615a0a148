import { ParameterType, type PluginHostService, type PluginEvent } from '@wwplugin/nestjs';
import type { Subscription } from 'rxjs';
import { inspect } from 'node:util';

/** What the tour needs besides the host: where the app listens, and where plugin entries are. */
export interface TourEnv {
  url: string;
  plugin(name: string): string;
}

const step = (title: string) => console.log(`\n=== ${title}`);
const show = (label: string, value: unknown) =>
  console.log(`  ${label}:`, typeof value === 'string' ? value : inspect(value, { depth: 4, breakLength: 120 }));

/** Walks through every feature, printing what happens. Throws if anything does not behave. */
export async function tour(host: PluginHostService, env: TourEnv): Promise<void> {
  const events: Subscription = host.events().subscribe((e: PluginEvent) => console.log(`  [event] ${describe(e)}`));
  try {
    step('1. Load the example plugins (each its own process, one gRPC session each)');
    const echo = await host.load(env.plugin('echo'));
    show('loaded', `${echo.name}@${echo.version} pid ${echo.pid}, functions: ${echo.functions.join(', ')}`);

    step('2. list()');
    for (const p of host.list()) show(p.name, `${p.state}, pid ${p.pid}, restarts ${p.restarts}`);

    step('3. Calls with every parameter type (echo.echo returns its argument)');
    const values: unknown[] = ['Hello', 42, 2n ** 60n, 3.14, true, Buffer.from('bytes!'), { nested: [1, 'two'] }, null];
    for (const value of values) show(describeValue(value), await host.call('echo', 'echo', { value }));
    show('greet (plain object args)', await host.call('echo', 'greet', { name: 'Ada' }));
    show('describe (seed-style Parameter[])', await host.call('echo', 'describe', [
      { name: 'who', type: ParameterType.STRING, value: 'Grace' },
      { name: 'n', type: ParameterType.INT, value: 7 },
    ]));

    step('4. Errors are typed');
    for (const [label, run] of [
      ['unknown function', () => host.call('echo', 'nope')],
      ['handler threw', () => host.call('echo', 'fail', { message: 'disk full', code: 'E_DISK' })],
      ['wrong argument type', () => host.call('echo', 'greet', { name: 42 })],
      ['unknown plugin', () => host.call('ghost', 'greet')],
    ] as const) {
      const err = (await run().catch((e: Error) => e)) as Error;
      show(label, `${err.name}: ${err.message}`);
    }

    step('5. A plugin calls a host function (echo.total -> host.sum)');
    show('total of [1,2,3,4]', await host.call('echo', 'total', { ids: [1, 2, 3, 4] }));

    step('6. HTTP: the host app serves plugin results');
    show(`GET ${env.url}/greet?name=Linus`, await (await fetch(`${env.url}/greet?name=Linus`)).text());

    step('Last. stop() and unload()');
    show('stop echo', (await host.stop('echo')).state);
    await host.unload('echo');
    show('after unload, list()', host.list().map((p) => p.name));
  } finally {
    events.unsubscribe();
  }
}

function describe(e: PluginEvent): string {
  const { type, plugin, ...rest } = e as PluginEvent & Record<string, unknown>;
  delete (rest as Record<string, unknown>).id;
  const extra = Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${type} ${plugin}${extra ? ` (${extra})` : ''}`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int (bigint)';
  return typeof v === 'object' ? 'json' : typeof v;
}
