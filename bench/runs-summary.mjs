// Goals across several full runs of `npm run bench`: one run on this VM can pass or miss a goal by
// the machine's drift alone, so the figure to judge by is the median over runs of the same build.
//   node bench/runs-summary.mjs bench/results/A.json bench/results/B.json ...
// Prints, per goal, each run's ratio (or value, for a goal without reference), the median, and
// whether the median meets the goal.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: node bench/runs-summary.mjs RUN.json [RUN.json ...]');
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The goal's text (`<= 1.1x`, `>= 0.8x`, `< 1`) read back as a test of a number. */
function meets(goal, x) {
  const [, op, limit] = /^(<=|>=|<)\s*([\d.]+)/.exec(goal) ?? [];
  if (op === '<=') return x <= Number(limit);
  if (op === '>=') return x >= Number(limit);
  if (op === '<') return x < Number(limit);
  throw new Error(`goal not understood: ${goal}`);
}

const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
const ids = Object.keys(runs[0].figures).filter((id) => runs[0].figures[id].goal);
// A run is named by its time stamp (to the minute), whatever the file's name around it.
const runName = (f) => /\d{4}-\d\d-\d\dT\d\d-\d\d/.exec(basename(f))?.[0] ?? basename(f, '.json');
const rows = [['goal', ...files.map(runName), 'median', 'goal', '']];
let met = 0;
for (const id of ids) {
  const figs = runs.map((r) => r.figures[id]).filter(Boolean);
  const xs = figs.map((f) => f.ratio ?? f.value);
  const m = median(xs);
  const unit = figs[0].ratio === undefined ? ` ${figs[0].unit}` : 'x';
  const ok = meets(figs[0].goal, m);
  if (ok) met++;
  rows.push([figs[0].label, ...xs.map((x) => `${fmt(x)}${unit}`), `${fmt(m)}${unit}`, figs[0].goal, ok ? 'pass' : 'MISS']);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
const line = (r) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
console.log(`Goals over ${runs.length} runs (${runs.map((r) => r.when).join(', ')}): ${met} of ${ids.length} met by the median\n`);
console.log(
  [line(rows[0]), `|${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join('\n'),
);
