// `npm run bench`: the raw grpc-js references and the framework, measured in one run on the same
// payload, each figure with its ratio to its reference and its goal. Every measurement runs in
// fresh child processes, one at a time, so they do not compete for the two cores. References and
// framework are taken in turns (rounds, medians), because the machine's speed drifts during a run.
//
//   node dist/bench/run.js [--quick] [--payload N] [--tcp] [--rounds N] [--plugins N]
//                          [--only raw,calls,slow,lifecycle,scale] [--profile] [--out file.json]
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { bundlePlugin } from './bundle-plugin.js';
import type { ChildConfig } from './support/child-io.js';
import { DIST_BENCH, RESULTS_DIR, ROOT } from './support/paths.js';
import { buildFigures, table, type RawResults } from './support/report.js';
import { median } from './support/stats.js';

const SCENARIOS = ['raw', 'calls', 'slow', 'lifecycle', 'scale'] as const;

interface Args {
  quick: boolean;
  payloadBytes: number;
  transport: 'unix' | 'tcp';
  only: Set<string>;
  rounds: number;
  plugins: number;
  profile: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, payloadBytes: 100, transport: 'unix', only: new Set(SCENARIOS), rounds: 0, plugins: 0, profile: false };
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
    else if (a === '--rounds') args.rounds = Number(value());
    else if (a === '--plugins') args.plugins = Number(value());
    else if (a === '--profile') args.profile = true;
    else if (a === '--out') args.out = value();
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(args.payloadBytes) || args.payloadBytes < 0) throw new Error('--payload must be a byte count');
  for (const s of args.only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s} (one of ${SCENARIOS.join(', ')})`);
  args.rounds ||= args.quick ? 1 : 3;
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

/** The median, figure by figure, of several reports of the same shape. */
function medianOf<T>(reports: T[]): T {
  const merge = (values: unknown[]): unknown => {
    if (typeof values[0] === 'number') return median(values as number[]);
    if (values[0] && typeof values[0] === 'object' && !Array.isArray(values[0])) {
      return Object.fromEntries(Object.keys(values[0]).map((k) => [k, merge(values.map((v) => (v as Record<string, unknown>)[k]))]));
    }
    return values[0];
  };
  return merge(reports) as T;
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
  const results: Partial<RawResults> = {};
  const step = (what: string) => process.stderr.write(`bench: ${what}\n`);
  const started = performance.now();

  const host = async (scenario: string, extra: Record<string, unknown> = {}) => {
    step(`framework: ${scenario}`);
    const c = forkChild('framework/host-child.js', { ...base, scenario, profileDir, ...extra }, profileDir);
    const result = await c.message;
    await c.exited;
    return result;
  };

  // The raw server serves the raw client and the bare Nest reference of the lifecycle scenario.
  const needRaw = args.only.has('raw') || args.only.has('lifecycle');
  const server = needRaw ? forkChild('raw/raw-server.js', base, profileDir, 'listening') : undefined;
  try {
    const address = server ? String((await server.message).address) : '';
    const raws: Array<RawResults['raw']> = [];
    const calls: Array<RawResults['calls']> = [];
    for (let round = 1; round <= args.rounds; round++) {
      if (args.only.has('raw')) {
        step(`raw grpc-js: unary, server stream, bidi calls-as-messages (round ${round}/${args.rounds})`);
        const client = forkChild('raw/raw-client.js', { ...base, address }, profileDir);
        raws.push((await client.message) as unknown as RawResults['raw']);
        await client.exited;
      }
      if (args.only.has('calls')) calls.push((await host('calls')) as unknown as RawResults['calls']);
    }
    if (raws.length) results.raw = medianOf(raws);
    if (calls.length) results.calls = medianOf(calls);

    if (args.only.has('lifecycle')) {
      const entries: Record<string, string> = { unbundled: `${DIST_BENCH}plugin/main.js` };
      step('bundling the bench plugin');
      // A directory of this run's own (inside the repo, where node_modules is found), so that
      // concurrent runs do not overwrite each other's bundle.
      const bundleDir = `${DIST_BENCH}bundle-${process.pid}`;
      const bundled = await bundlePlugin(entries.unbundled, `${bundleDir}/plugin/main.mjs`);
      if (bundled.ok) entries.bundled = `${bundleDir}/plugin/main.mjs`;
      else step(`no bundled plugin: ${bundled.reason}; cold start is measured unbundled only`);
      try {
        const r = (await host('lifecycle', { entries, rawAddress: address })) as unknown as Record<string, RawResults['lifecycle']> & {
          bare: RawResults['bare'];
        };
        results.bare = r.bare;
        results.lifecycle = { ...(r.bundled ?? r.unbundled), unbundled: r.unbundled, bundled: !!r.bundled };
      } finally {
        rmSync(bundleDir, { recursive: true, force: true });
      }
    }
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }
  if (args.only.has('slow')) results.slow = ((await host('slow')) as { slow: RawResults['slow'] }).slow;
  if (args.only.has('scale')) results.scale = ((await host('scale', { plugins: args.plugins })) as { scale: RawResults['scale'] }).scale;

  const figures = buildFigures(results);
  const report = {
    when: new Date().toISOString(),
    durationS: Math.round((performance.now() - started) / 100) / 10,
    machine: machine(),
    options: {
      quick: args.quick,
      payloadBytes: args.payloadBytes,
      transport: args.transport,
      rounds: args.rounds,
      plugins: args.plugins,
      scenarios: [...args.only],
    },
    figures,
    raw: results,
  };
  console.log(
    `\nWWPlugin benchmark — ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, ` +
      `payload ${args.payloadBytes} B, ${args.transport}, ${args.rounds} round(s)${args.quick ? ', quick' : ''} (${report.durationS} s)\n`,
  );
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
