// `npm run bench`: the raw grpc-js references and the framework, measured in one run on the same
// payload, each figure with its ratio to its reference and its goal. Every measurement runs in
// fresh child processes, one at a time, so they do not compete for the two cores. References and
// framework are taken in turns (rounds, medians), because the machine's speed drifts during a run.
//
//   node dist/bench/run.js [--quick] [--payload N] [--tcp] [--rounds N] [--plugins N]
//                          [--only raw,calls,slow,lifecycle,scale] [--profile] [--no-heartbeat] [--out file.json]
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { relative } from 'node:path';
import { bundlePlugin } from './bundle-plugin.js';
import type { ChildConfig } from './support/child-io.js';
import { DIST_BENCH, RESULTS_DIR, ROOT } from './support/paths.js';
import { buildFigures, table, type RawResults, type Rounds } from './support/report.js';
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
  heartbeat: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, payloadBytes: 100, transport: 'unix', only: new Set(SCENARIOS), rounds: 0, plugins: 0, profile: false, heartbeat: true };
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
    else if (a === '--no-heartbeat') args.heartbeat = false;
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
  const base: ChildConfig = { quick: args.quick, payloadBytes: args.payloadBytes, transport: args.transport, heartbeat: args.heartbeat };
  const results: Partial<RawResults> = {};
  let rounds: Rounds | undefined;
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
    // Each round's figures too: the call figures' ratios pair each round's two sides (report.ts: PAIRED).
    if (raws.length && calls.length) rounds = { raw: raws, calls };

    if (args.only.has('lifecycle')) {
      const entries: Record<string, string> = { unbundled: `${DIST_BENCH}plugin/main.js` };
      const bareEntries: Record<string, string> = { unbundled: `${DIST_BENCH}bare-nest-child.js` };
      step('bundling the bench plugin and the bare Nest reference');
      // A directory of this run's own (inside the repo, where node_modules is found), so that
      // concurrent runs do not overwrite each other's bundle. The bare reference sits at its top:
      // it finds the repository three levels up, as when it is not bundled.
      const bundleDir = `${DIST_BENCH}bundle-${process.pid}`;
      const bundled = await bundlePlugin(entries.unbundled, `${bundleDir}/plugin/main.mjs`);
      const bareBundled = bundled.ok ? await bundlePlugin(bareEntries.unbundled, `${bundleDir}/bare-nest-child.mjs`) : bundled;
      if (bundled.ok && bareBundled.ok) {
        entries.bundled = `${bundleDir}/plugin/main.mjs`;
        bareEntries.bundled = `${bundleDir}/bare-nest-child.mjs`;
      } else step(`no bundles: ${bundled.ok ? '' : bundled.reason}; cold start is measured unbundled only`);
      try {
        const r = (await host('lifecycle', { entries, bareEntries, rawAddress: address })) as unknown as RawResults['lifecycle'] & { bare: RawResults['bare'] };
        const { bare, ...lifecycle } = r;
        results.bare = bare;
        results.lifecycle = lifecycle;
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

  const figures = buildFigures(results, rounds);
  const report = {
    when: new Date().toISOString(),
    durationS: Math.round((performance.now() - started) / 100) / 10,
    machine: machine(),
    // Other work on the machine moves every absolute figure: the load average at both ends says how much there was.
    loadAverage: { start: loadAtStart, end: loadavg().map(round2) },
    options: {
      quick: args.quick,
      payloadBytes: args.payloadBytes,
      transport: args.transport,
      rounds: args.rounds,
      plugins: args.plugins,
      heartbeat: args.heartbeat,
      scenarios: [...args.only],
    },
    figures,
    raw: results,
    rounds,
  };
  const full = !args.quick && args.heartbeat && args.only.size === SCENARIOS.length;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const outBase = args.out ? args.out.replace(/\.json$/, '') : `${RESULTS_DIR}${args.quick ? 'quick-' : ''}${stamp}`;
  const jsonFiles = [`${outBase}.json`, ...(full && !args.out ? [`${RESULTS_DIR}latest.json`] : [])];
  const mdFiles = jsonFiles.map((f) => f.replace(/\.json$/, '.md'));
  const summary = markdownSummary(report, jsonFiles[0]);
  console.log(`\n${summary}`);
  for (const out of jsonFiles) writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  for (const out of mdFiles) writeFileSync(out, summary);
  console.log(`\nwritten: ${[...jsonFiles, ...mdFiles].join(', ')}${profileDir ? `\nprofiles: ${profileDir}` : ''}`);
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const loadAtStart = loadavg().map(round2);

/**
 * What BENCHMARKS.md takes from a run, ready to paste: where it comes from, the goals (each with
 * its reference and ratio from this run), then every figure.
 */
function markdownSummary(
  report: {
    when: string;
    durationS: number;
    machine: ReturnType<typeof machine>;
    loadAverage: { start: number[]; end: number[] };
    options: Record<string, unknown>;
    figures: ReturnType<typeof buildFigures>;
  },
  file: string,
): string {
  const o = report.options;
  const m = report.machine;
  const goals = Object.values(report.figures).filter((f) => f.goal);
  const passed = goals.filter((f) => f.pass).length;
  return [
    `Run \`${relative(ROOT, file)}\`, ${report.when}: ${m.cpu}, ${m.cores} cores, Node ${m.node}, grpc-js ${m.grpcJs}, @nestjs/core ${m.nestCore}; ` +
      `payload ${String(o.payloadBytes)} B, ${String(o.transport)}, ${String(o.rounds)} round(s), ${String(o.plugins)} plugins${o.quick ? ', quick' : ''}${o.heartbeat ? '' : ', heartbeats off'}, ` +
      `scenarios ${(o.scenarios as string[]).join(', ')}; load average ${report.loadAverage.start.join(' ')} at the start, ${report.loadAverage.end.join(' ')} at the end; ${report.durationS} s.`,
    '',
    `### Goals (${passed} of ${goals.length} met)`,
    '',
    table(report.figures, true),
    '',
    ...(Object.values(report.figures).some((f) => f.roundRatios)
      ? ["`*`: the median of the rounds' ratios, each round's framework figure over the reference measured just before it (not value / reference).", '']
      : []),
    '### Every figure',
    '',
    table(report.figures),
    '',
  ].join('\n');
}

// A benchmark that cannot run exits non-zero; a slow figure never does.
main().catch((err) => {
  process.stderr.write(`bench could not run: ${(err as Error)?.stack ?? String(err)}\n`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
