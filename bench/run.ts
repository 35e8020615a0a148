// `npm run bench`: the raw grpc-js references and the framework, measured in one run on the same
// payload, each figure with its ratio to its reference and its goal. Every measurement runs in
// fresh child processes, one scenario at a time, so they do not compete for the two cores.
//
//   node dist/bench/run.js [--quick] [--payload N] [--tcp] [--only raw,bare,calls,slow,lifecycle,scale]
//                          [--plugins N] [--profile] [--out file.json]
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { createInterface } from 'node:readline';
import type { ChildConfig } from './support/child-io.js';
import { DIST_BENCH, RESULTS_DIR, ROOT } from './support/paths.js';
import { buildFigures, table, type RawResults } from './support/report.js';
import { makePayload, median } from './support/stats.js';

const SCENARIOS = ['raw', 'bare', 'calls', 'slow', 'lifecycle', 'scale'] as const;

interface Args {
  quick: boolean;
  payloadBytes: number;
  transport: 'unix' | 'tcp';
  only: Set<string>;
  plugins: number;
  profile: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, payloadBytes: 100, transport: 'unix', only: new Set(SCENARIOS), plugins: 0, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--payload') args.payloadBytes = Number(value());
    else if (a === '--tcp') args.transport = 'tcp';
    else if (a === '--only') args.only = new Set(value().split(','));
    else if (a === '--plugins') args.plugins = Number(value());
    else if (a === '--profile') args.profile = true;
    else if (a === '--out') args.out = value();
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(args.payloadBytes) || args.payloadBytes < 0) throw new Error('--payload must be a byte count');
  for (const s of args.only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}`);
  args.plugins ||= args.quick ? 5 : 50;
  return args;
}

const children = new Set<ChildProcess>();

/** Forks a bench child and resolves with the first message of `type` it sends. */
function forkChild(file: string, config: ChildConfig, profileDir: string | undefined, until = 'result') {
  const child = fork(`${DIST_BENCH}${file}`, [JSON.stringify(config)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const message = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === until) resolve(m);
      else if (m.type === 'error') reject(new Error(`${file} failed:\n${String(m.message)}`));
    });
    child.once('exit', (code, signal) => reject(new Error(`${file} exited (${signal ?? `code ${code}`}) before reporting ${until}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, message, exited };
}

/** Spawns the bare Nest reference as the host spawns a plugin, and times spawn → its reply line. */
async function bareOnce(address: string, payload: string): Promise<{ ms: number; rss: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [`${DIST_BENCH}bare-nest-child.js`], {
    env: { ...process.env, WWBENCH_ADDRESS: address, WWBENCH_PAYLOAD: payload },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (children.delete(child), resolve(code))));
  const line = await new Promise<string | undefined>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(undefined));
  });
  const ms = performance.now() - t0;
  const code = await exited;
  if (!line || code !== 0) throw new Error(`bare-nest-child failed (exit code ${code})`);
  return { ms, rss: (JSON.parse(line) as { rss: number }).rss };
}

function machine() {
  const version = (pkg: string) => (JSON.parse(readFileSync(`${ROOT}node_modules/${pkg}/package.json`, 'utf8')) as { version: string }).version;
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    grpcJs: version('@grpc/grpc-js'),
    nestCore: version('@nestjs/core'),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profileDir = args.profile ? `${RESULTS_DIR}profiles/${stamp}` : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const base: ChildConfig = { quick: args.quick, payloadBytes: args.payloadBytes, transport: args.transport };
  const payload = makePayload(args.payloadBytes);
  const results: Partial<RawResults> = {};
  const step = (what: string) => process.stderr.write(`bench: ${what}\n`);
  const started = performance.now();

  if (args.only.has('raw') || args.only.has('bare')) {
    step('raw grpc-js server');
    const server = forkChild('raw/raw-server.js', base, profileDir, 'listening');
    const address = String((await server.message).address);
    try {
      if (args.only.has('raw')) {
        step('raw grpc-js client: unary, server stream, bidi calls-as-messages');
        const client = forkChild('raw/raw-client.js', { ...base, address }, profileDir);
        results.raw = (await client.message) as unknown as RawResults['raw'];
        await client.exited;
      }
      if (args.only.has('bare')) {
        const runs = args.quick ? 1 : 5;
        const warmups = args.quick ? 0 : 1;
        step(`bare Nest context child ×${runs}`);
        const measured: Array<{ ms: number; rss: number }> = [];
        for (let i = 0; i < warmups + runs; i++) {
          const r = await bareOnce(address, payload);
          if (i >= warmups) measured.push(r);
        }
        results.bare = { ms: median(measured.map((m) => m.ms)), rss: median(measured.map((m) => m.rss)) };
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }

  const host = async (scenario: string, extra: Record<string, unknown> = {}) => {
    step(`framework: ${scenario}`);
    const c = forkChild('framework/host-child.js', { ...base, scenario, profileDir, ...extra }, profileDir);
    const result = await c.message;
    await c.exited;
    return result;
  };
  if (args.only.has('calls')) results.calls = (await host('calls')) as unknown as RawResults['calls'];
  if (args.only.has('slow')) results.slow = ((await host('slow')) as { slow: RawResults['slow'] }).slow;
  if (args.only.has('lifecycle')) results.lifecycle = (await host('lifecycle')) as unknown as RawResults['lifecycle'];
  if (args.only.has('scale')) results.scale = ((await host('scale', { plugins: args.plugins })) as { scale: RawResults['scale'] }).scale;

  const figures = buildFigures(results);
  const report = {
    when: new Date().toISOString(),
    durationS: Math.round((performance.now() - started) / 100) / 10,
    machine: machine(),
    options: { quick: args.quick, payloadBytes: args.payloadBytes, transport: args.transport, plugins: args.plugins, scenarios: [...args.only] },
    figures,
    raw: results,
  };
  console.log(`\nWWPlugin benchmark — ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, ` +
    `payload ${args.payloadBytes} B, ${args.transport}${args.quick ? ', quick' : ''} (${report.durationS} s)\n`);
  console.log(table(figures));
  const full = !args.quick && args.only.size === SCENARIOS.length;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const outputs = args.out ? [args.out] : [`${RESULTS_DIR}${args.quick ? 'quick-' : ''}${stamp}.json`, ...(full ? [`${RESULTS_DIR}latest.json`] : [])];
  for (const out of outputs) writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten: ${outputs.join(', ')}${profileDir ? `\nprofiles: ${profileDir}` : ''}`);
}

// A benchmark that cannot run exits non-zero; a slow figure never does.
main().catch((err) => {
  process.stderr.write(`bench could not run: ${(err as Error)?.stack ?? String(err)}\n`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
