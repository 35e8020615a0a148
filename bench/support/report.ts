import { MiB } from './stats.js';

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
  /** value / referenceValue. */
  ratio?: number;
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
  bare: { ms: number; rss: number };
  calls: {
    call: { p50: number; p99: number; rate64: number; cpuPerCall: number };
    callHost: { p50: number };
    callPlugin: { p50: number };
    push: { rate: number; delivered: number; dropped: number };
  };
  slow: { baseRss: number; peakRss: number; firstHalfPeakRss: number; secondHalfPeakRss: number; sent: number; dropped: number; delivered: number };
  lifecycle: {
    cold: { ms: number; rss: number };
    restart: { ms: number };
    /** Whether the figures above are of the bundled plugin entry. */
    bundled: boolean;
    unbundled: { cold: { ms: number; rss: number }; restart: { ms: number } };
  };
  scale: { plugins: number; idleCpuPct: number; p50One: number; p50Many: number; p50Spread: number; loadMs: number };
}

/** Turns the children's reports into figures, each with its reference, ratio and goal. */
export function buildFigures(r: Partial<RawResults>): Record<string, Figure> {
  const mib = (b: number | undefined) => (b === undefined ? undefined : b / MiB);
  const entry = r.lifecycle?.bundled === false ? ' (unbundled entry)' : ' (bundled entry)';
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
    {
      id: 'call.p50_us',
      label: 'host→plugin call p50',
      unit: 'µs',
      value: r.calls?.call.p50,
      reference: 'raw.unary.p50_us',
      goal: { kind: 'ratio-max', limit: 0.4 },
    },
    { id: 'call.p99_us', label: 'host→plugin call p99', unit: 'µs', value: r.calls?.call.p99, reference: 'raw.unary.p99_us' },
    {
      id: 'call.cpu_us_per_call',
      label: 'host→plugin: CPU per call, host + plugin',
      unit: 'µs',
      value: r.calls?.call.cpuPerCall,
      reference: 'raw.bidi.cpu_us_per_call',
    },
    {
      id: 'call.calls_per_s_64',
      label: 'host→plugin call, 64 in flight',
      unit: 'calls/s',
      value: r.calls?.call.rate64,
      reference: 'raw.unary.calls_per_s_64',
      goal: { kind: 'ratio-min', limit: 5 },
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
    {
      id: 'cold.start_ms',
      label: `plugin cold start: load() → first reply${entry}`,
      unit: 'ms',
      value: r.lifecycle?.cold.ms,
      reference: 'bare.start_ms',
      goal: { kind: 'ratio-max', limit: 1.0 },
    },
    {
      id: 'cold.rss_mib',
      label: `plugin RSS${entry}`,
      unit: 'MiB',
      value: mib(r.lifecycle?.cold.rss),
      reference: 'bare.rss_mib',
      goal: { kind: 'ratio-max', limit: 1.15 },
    },
    {
      id: 'restart.ms',
      label: `SIGKILL → restarted and serving${entry}`,
      unit: 'ms',
      value: r.lifecycle?.restart.ms,
      reference: 'cold.start_ms',
      goal: { kind: 'ref-plus-max', limit: 150 },
    },
    {
      id: 'cold.unbundled_start_ms',
      label: 'plugin cold start, unbundled entry',
      unit: 'ms',
      value: r.lifecycle?.unbundled.cold.ms,
      reference: 'bare.start_ms',
    },
    { id: 'cold.unbundled_rss_mib', label: 'plugin RSS, unbundled entry', unit: 'MiB', value: mib(r.lifecycle?.unbundled.cold.rss), reference: 'bare.rss_mib' },
    {
      id: 'restart.unbundled_ms',
      label: 'SIGKILL → restarted, unbundled entry',
      unit: 'ms',
      value: r.lifecycle?.unbundled.restart.ms,
      reference: 'cold.unbundled_start_ms',
    },
    { id: 'scale.plugins', label: 'plugins loaded', unit: '', value: r.scale?.plugins },
    { id: 'scale.idle_cpu_pct', label: 'host idle CPU, all plugins loaded', unit: '%', value: r.scale?.idleCpuPct, goal: { kind: 'abs-max', limit: 2 } },
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
    const value = d.value ?? NaN;
    const fig: Figure = { label: d.label, value, unit: d.unit };
    if (d.reference) {
      const ref = values.get(d.reference) ?? NaN;
      fig.reference = d.reference;
      fig.referenceValue = ref;
      fig.ratio = value / ref;
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

/** The table printed at the end of a run (also pasted into BENCHMARKS.md). */
export function table(figures: Record<string, Figure>): string {
  const rows = [['figure', 'value', 'reference', 'ratio', 'goal', '']];
  for (const f of Object.values(figures)) {
    rows.push([
      f.label,
      `${fmt(f.value)} ${f.unit}`.trim(),
      f.referenceValue === undefined ? '' : fmt(f.referenceValue),
      f.ratio === undefined ? '' : `${fmt(f.ratio)}x`,
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
