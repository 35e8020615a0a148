import { median, MiB } from './stats.js';

/** What a figure must reach, relative to its reference (or absolute when it has none). */
export type Goal =
  { kind: 'ratio-max'; limit: number } | { kind: 'ratio-min'; limit: number } | { kind: 'ref-plus-max'; limit: number } | { kind: 'abs-max'; limit: number };

/** One line of the table and one entry of the JSON. */
export interface Figure {
  label: string;
  value: number;
  unit: string;
  /** Id of the figure this one is compared with (its raw reference). */
  reference?: string;
  referenceValue?: number;
  /** value / referenceValue; for a figure measured in rounds against its reference, the median of the rounds' ratios (`roundRatios`). */
  ratio?: number;
  /** Each round's ratio, framework against the reference measured just before it. */
  roundRatios?: number[];
  goal?: string;
  pass?: boolean;
}

interface FigureDef {
  id: string;
  label: string;
  unit: string;
  value: number | undefined;
  reference?: string;
  goal?: Goal;
}

function goalText(goal: Goal): string {
  switch (goal.kind) {
    case 'ratio-max':
      return `<= ${goal.limit}x`;
    case 'ratio-min':
      return `>= ${goal.limit}x`;
    case 'ref-plus-max':
      return `<= ref + ${goal.limit}`;
    case 'abs-max':
      return `< ${goal.limit}`;
  }
}

function meets(goal: Goal, value: number, ref: number | undefined, ratio: number | undefined): boolean {
  switch (goal.kind) {
    case 'ratio-max':
      return ratio !== undefined && ratio <= goal.limit;
    case 'ratio-min':
      return ratio !== undefined && ratio >= goal.limit;
    case 'ref-plus-max':
      return ref !== undefined && value <= ref + goal.limit;
    case 'abs-max':
      return value < goal.limit;
  }
}

/** Raw measurements of every child, as they reported them. */
export interface RawResults {
  raw: {
    unary: { p50: number; p99: number; rate64: number };
    stream: { rate: number };
    bidi: { p50: number; p99: number; rate64: number; cpuPerCall: number };
  };
  bare: { ms: number; rss: number; bundled?: { ms: number; rss: number } };
  calls: {
    call: { p50: number; p99: number; rate64: number; cpuPerCall: number };
    callHost: { p50: number };
    callPlugin: { p50: number };
    push: { rate: number; delivered: number; dropped: number };
  };
  slow: { baseRss: number; peakRss: number; firstHalfPeakRss: number; secondHalfPeakRss: number; sent: number; dropped: number; delivered: number };
  /** Per plugin entry ('unbundled', 'bundled'): cold start, restart after SIGKILL, and the same with a spare. */
  lifecycle: Record<string, EntryLifecycle | undefined> & { spareRss?: number };
  scale: {
    plugins: number;
    idleCpuPct: number;
    idleWindowS: number;
    idleCpuFirstPct: number;
    p50One: number;
    p50Many: number;
    p50Spread: number;
    loadMs: number;
  };
}

/** One plugin entry's start figures (lifecycle scenario). */
export interface EntryLifecycle {
  cold: { ms: number; rss: number };
  restart: { ms: number };
  spare: { loadMs: number; restartMs: number; ownRestartMs?: number; prewarmedLoadMs?: number };
}

/**
 * Start figures, like with like: each plugin entry against the bare Nest reference built the same
 * way (bundled or not), and its restart and spare figures against its own cold start.
 */
function lifecycleDefs(l: Partial<RawResults>['lifecycle']): FigureDef[] {
  const mib = (b: number | undefined) => (b === undefined ? undefined : b / MiB);
  const defs: FigureDef[] = [];
  for (const [entry, idPart, bare] of [
    ['unbundled', 'unbundled_', 'bare.'],
    ['bundled', '', 'bare.bundled_'],
  ] as const) {
    const e = l?.[entry] as EntryLifecycle | undefined;
    const cold = `cold.${idPart}start_ms`;
    defs.push(
      {
        id: cold,
        label: `plugin cold start, ${entry}: load() → first reply`,
        unit: 'ms',
        value: e?.cold.ms,
        reference: `${bare}start_ms`,
        goal: { kind: 'ratio-max', limit: 1.0 },
      },
      {
        id: `cold.${idPart}rss_mib`,
        label: `plugin RSS, ${entry}`,
        unit: 'MiB',
        value: mib(e?.cold.rss),
        reference: `${bare}rss_mib`,
        goal: { kind: 'ratio-max', limit: 1.15 },
      },
      { id: `restart.${idPart}ms`, label: `SIGKILL → serving, ${entry}, no spare`, unit: 'ms', value: e?.restart.ms, reference: cold },
      {
        id: `spare.${idPart}restart_ms`,
        label: `SIGKILL → serving, ${entry}, spare ready`,
        unit: 'ms',
        value: e?.spare.restartMs,
        reference: cold,
        goal: { kind: 'ratio-max', limit: 0.25 },
      },
      {
        id: `spare.${idPart}own_restart_ms`,
        label: `SIGKILL → serving, ${entry}, its own spare ready`,
        unit: 'ms',
        value: e?.spare.ownRestartMs,
        reference: cold,
        goal: { kind: 'ratio-max', limit: 0.25 },
      },
      {
        id: `spare.${idPart}load_ms`,
        label: `load() → first reply, ${entry}, spare ready`,
        unit: 'ms',
        value: e?.spare.loadMs,
        reference: cold,
        goal: { kind: 'ratio-max', limit: 0.5 },
      },
      {
        id: `spare.${idPart}prewarmed_load_ms`,
        label: `load() → first reply, ${entry}, host.prewarm(spec) ready`,
        unit: 'ms',
        value: e?.spare.prewarmedLoadMs,
        reference: cold,
        goal: { kind: 'ratio-max', limit: 0.5 },
      },
    );
  }
  defs.push({ id: 'spare.rss_mib', label: 'a waiting spare process: RSS', unit: 'MiB', value: mib(l?.spareRss) });
  return defs;
}

/** Each round's raw references and framework figures, measured back to back (run.ts: --rounds). */
export interface Rounds {
  raw: Array<RawResults['raw']>;
  calls: Array<RawResults['calls']>;
}

type Pick<T> = (x: T) => number;
/**
 * The framework's call figures and the raw reference each is held to. The machine's speed drifts
 * and jumps during a run (64 in flight: 25-40k raw calls/s from round to round), so such a ratio
 * is each round's framework figure over the reference taken just before it, and the median of
 * those: a median of each side taken apart can set one side's fast rounds against the other's slow ones.
 */
const PAIRED: Record<string, [Pick<RawResults['calls']>, Pick<RawResults['raw']>]> = {
  'call.p50_us': [(c) => c.call.p50, (r) => r.unary.p50],
  'call.p50_us_vs_bidi': [(c) => c.call.p50, (r) => r.bidi.p50],
  'call.p99_us': [(c) => c.call.p99, (r) => r.unary.p99],
  'call.cpu_us_per_call': [(c) => c.call.cpuPerCall, (r) => r.bidi.cpuPerCall],
  'call.calls_per_s_64': [(c) => c.call.rate64, (r) => r.unary.rate64],
  'call.calls_per_s_64_vs_bidi': [(c) => c.call.rate64, (r) => r.bidi.rate64],
  'call_host.p50_us': [(c) => c.callHost.p50, (r) => r.unary.p50],
  'call_plugin.p50_us': [(c) => c.callPlugin.p50, (r) => r.unary.p50],
  'push.msgs_per_s': [(c) => c.push.rate, (r) => r.stream.rate],
};

/** The rounds' ratios of a paired figure, when both sides ran in every round. */
function roundRatiosOf(id: string, rounds: Rounds | undefined): number[] | undefined {
  const pick = PAIRED[id];
  if (!pick || !rounds || !rounds.raw.length || rounds.raw.length !== rounds.calls.length) return undefined;
  return rounds.calls.map((c, i) => pick[0](c) / pick[1](rounds.raw[i]));
}

/** Turns the children's reports (the scenarios that ran) into figures, each with its reference, ratio and goal. */
export function buildFigures(r: Partial<RawResults>, rounds?: Rounds): Record<string, Figure> {
  const mib = (b: number | undefined) => (b === undefined ? undefined : b / MiB);
  const defs: FigureDef[] = [
    { id: 'raw.unary.p50_us', label: 'raw unary, sequential p50', unit: 'µs', value: r.raw?.unary.p50 },
    { id: 'raw.unary.p99_us', label: 'raw unary, sequential p99', unit: 'µs', value: r.raw?.unary.p99 },
    { id: 'raw.unary.calls_per_s_64', label: 'raw unary, 64 in flight', unit: 'calls/s', value: r.raw?.unary.rate64 },
    { id: 'raw.stream.msgs_per_s', label: 'raw server stream', unit: 'msgs/s', value: r.raw?.stream.rate },
    { id: 'raw.bidi.p50_us', label: 'raw bidi calls-as-messages p50', unit: 'µs', value: r.raw?.bidi.p50, reference: 'raw.unary.p50_us' },
    { id: 'raw.bidi.p99_us', label: 'raw bidi calls-as-messages p99', unit: 'µs', value: r.raw?.bidi.p99, reference: 'raw.unary.p99_us' },
    { id: 'raw.bidi.calls_per_s_64', label: 'raw bidi, 64 in flight', unit: 'calls/s', value: r.raw?.bidi.rate64, reference: 'raw.unary.calls_per_s_64' },
    { id: 'raw.bidi.cpu_us_per_call', label: 'raw bidi: CPU per call, both processes', unit: 'µs', value: r.raw?.bidi.cpuPerCall },
    { id: 'bare.start_ms', label: 'bare Nest child: spawn → first gRPC reply', unit: 'ms', value: r.bare?.ms },
    { id: 'bare.rss_mib', label: 'bare Nest child RSS', unit: 'MiB', value: mib(r.bare?.rss) },
    { id: 'bare.bundled_start_ms', label: 'bare Nest child, bundled: spawn → first gRPC reply', unit: 'ms', value: r.bare?.bundled?.ms },
    { id: 'bare.bundled_rss_mib', label: 'bare Nest child RSS, bundled', unit: 'MiB', value: mib(r.bare?.bundled?.rss) },
    {
      id: 'call.p50_us',
      label: 'host→plugin call p50',
      unit: 'µs',
      value: r.calls?.call.p50,
      reference: 'raw.unary.p50_us',
      goal: { kind: 'ratio-max', limit: 0.4 },
    },
    {
      id: 'call.p50_us_vs_bidi',
      label: 'host→plugin call p50, vs raw bidi',
      unit: 'µs',
      value: r.calls?.call.p50,
      reference: 'raw.bidi.p50_us',
      goal: { kind: 'ratio-max', limit: 1.1 },
    },
    { id: 'call.p99_us', label: 'host→plugin call p99', unit: 'µs', value: r.calls?.call.p99, reference: 'raw.unary.p99_us' },
    {
      id: 'call.cpu_us_per_call',
      label: 'host→plugin: CPU per call, host + plugin',
      unit: 'µs',
      value: r.calls?.call.cpuPerCall,
      reference: 'raw.bidi.cpu_us_per_call',
      goal: { kind: 'ratio-max', limit: 1.15 },
    },
    {
      id: 'call.calls_per_s_64',
      label: 'host→plugin call, 64 in flight',
      unit: 'calls/s',
      value: r.calls?.call.rate64,
      reference: 'raw.unary.calls_per_s_64',
      goal: { kind: 'ratio-min', limit: 5 },
    },
    {
      id: 'call.calls_per_s_64_vs_bidi',
      label: 'host→plugin call, 64 in flight, vs raw bidi',
      unit: 'calls/s',
      value: r.calls?.call.rate64,
      reference: 'raw.bidi.calls_per_s_64',
      goal: { kind: 'ratio-min', limit: 0.9 },
    },
    { id: 'call_host.p50_us', label: 'plugin→host callHost p50', unit: 'µs', value: r.calls?.callHost.p50, reference: 'raw.unary.p50_us' },
    {
      id: 'call_plugin.p50_us',
      label: 'plugin→plugin callPlugin p50',
      unit: 'µs',
      value: r.calls?.callPlugin.p50,
      reference: 'raw.unary.p50_us',
      goal: { kind: 'ratio-max', limit: 1.0 },
    },
    {
      id: 'push.msgs_per_s',
      label: 'host→plugin push delivered',
      unit: 'msgs/s',
      value: r.calls?.push.rate,
      reference: 'raw.stream.msgs_per_s',
      goal: { kind: 'ratio-min', limit: 0.8 },
    },
    { id: 'push.dropped', label: 'pushes dropped at full speed', unit: 'msgs', value: r.calls?.push.dropped },
    { id: 'slow_push.host_base_rss_mib', label: 'slow plugin: host RSS before', unit: 'MiB', value: mib(r.slow?.baseRss) },
    {
      id: 'slow_push.host_peak_rss_mib',
      label: 'slow plugin: host peak RSS',
      unit: 'MiB',
      value: mib(r.slow?.peakRss),
      reference: 'slow_push.host_base_rss_mib',
    },
    {
      id: 'slow_push.host_late_growth_mib',
      label: 'slow plugin: RSS growth, 2nd half vs 1st',
      unit: 'MiB',
      value: r.slow ? (r.slow.secondHalfPeakRss - r.slow.firstHalfPeakRss) / MiB : undefined,
      goal: { kind: 'abs-max', limit: 16 },
    },
    { id: 'slow_push.sent', label: 'slow plugin: pushes sent', unit: 'msgs', value: r.slow?.sent },
    { id: 'slow_push.delivered', label: 'slow plugin: pushes delivered', unit: 'msgs', value: r.slow?.delivered },
    { id: 'slow_push.dropped', label: 'slow plugin: pushes dropped (bounded buffer)', unit: 'msgs', value: r.slow?.dropped },
    ...lifecycleDefs(r.lifecycle),
    { id: 'scale.plugins', label: 'plugins loaded', unit: '', value: r.scale?.plugins },
    {
      id: 'scale.idle_cpu_pct',
      label: 'host idle CPU, all plugins loaded (steady)',
      unit: '%',
      value: r.scale?.idleCpuPct,
      goal: { kind: 'abs-max', limit: 1 },
    },
    { id: 'scale.idle_window_s', label: 'host idle CPU: measured over', unit: 's', value: r.scale?.idleWindowS },
    { id: 'scale.idle_cpu_first_pct', label: 'host CPU, first windows after loading (V8 memory reducer)', unit: '%', value: r.scale?.idleCpuFirstPct },
    { id: 'scale.call_p50_1_us', label: 'call p50, 1 plugin loaded', unit: 'µs', value: r.scale?.p50One },
    {
      id: 'scale.call_p50_n_us',
      label: 'call p50, all plugins loaded',
      unit: 'µs',
      value: r.scale?.p50Many,
      reference: 'scale.call_p50_1_us',
      goal: { kind: 'ratio-max', limit: 1.2 },
    },
    {
      id: 'scale.call_p50_spread_us',
      label: 'call p50, round-robin over all plugins',
      unit: 'µs',
      value: r.scale?.p50Spread,
      reference: 'scale.call_p50_1_us',
    },
  ];
  const values = new Map(defs.map((d) => [d.id, d.value]));
  const out: Record<string, Figure> = {};
  for (const d of defs) {
    // A scenario that did not run (--only) has no figures, rather than figures that miss.
    if (d.value === undefined) continue;
    const value = d.value;
    const fig: Figure = { label: d.label, value, unit: d.unit };
    if (d.reference) {
      const ref = values.get(d.reference) ?? NaN;
      fig.reference = d.reference;
      fig.referenceValue = ref;
      const roundRatios = roundRatiosOf(d.id, rounds);
      fig.ratio = roundRatios ? median(roundRatios) : value / ref;
      if (roundRatios) fig.roundRatios = roundRatios;
    }
    if (d.goal) {
      fig.goal = goalText(d.goal);
      fig.pass = Number.isFinite(value) && meets(d.goal, value, fig.referenceValue, fig.ratio);
    }
    out[d.id] = fig;
  }
  return out;
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '';
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** The table printed at the end of a run (also pasted into BENCHMARKS.md); `goalsOnly`: the figures with a goal. */
export function table(figures: Record<string, Figure>, goalsOnly = false): string {
  const rows = [['figure', 'value', 'reference', 'ratio', 'goal', '']];
  for (const f of Object.values(figures)) {
    if (goalsOnly && !f.goal) continue;
    rows.push([
      f.label,
      `${fmt(f.value)} ${f.unit}`.trim(),
      f.referenceValue === undefined ? '' : fmt(f.referenceValue),
      f.ratio === undefined ? '' : `${fmt(f.ratio)}x${f.roundRatios ? '*' : ''}`,
      f.goal ?? '',
      f.pass === undefined ? '' : f.pass ? 'pass' : 'MISS',
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join(
    '\n',
  );
}
