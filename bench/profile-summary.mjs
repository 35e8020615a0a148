// Self time of a .cpuprofile by file and by function, from the first sample whose stack holds
// `--after NAME` (e.g. the handler, so that start-up is left out) to the last under `--until NAME`
// (default: the same name).
//   node bench/profile-summary.mjs FILE.cpuprofile [--after NAME] [--top N] [--calls N]
// With --calls, times are also given per call (µs).
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const file = argv[0];
const after = opt('--after');
const until = opt('--until') ?? after;
const top = Number(opt('--top') ?? 40);
const calls = Number(opt('--calls') ?? 0);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const short = (url) => {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 13).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `${pkg}:${rest.slice(pkg.split('/').length).join('/')}`;
  }
  const lib = u.indexOf('/libs/wwplugin/');
  if (lib >= 0) return `wwplugin:${u.slice(lib + 15).replace(/^dist\//, '')}`;
  const d = u.indexOf('/dist/');
  if (d >= 0) return u.slice(d + 1);
  return u;
};
const has = (id, name) => {
  for (let x = id; x !== undefined; x = parent.get(x)) if (byId.get(x).callFrame.functionName === name) return true;
  return false;
};

let start = 0;
if (after) {
  start = profile.samples.findIndex((id) => has(id, after));
  if (start < 0) throw new Error(`no sample under ${after}`);
}
// Parts of a process: the library, Nest, rxjs, grpc-js, the protobuf codec (protobufjs, proto-loader
// and the functions protobufjs generates, which have no file), Node itself.
const group = (f) => {
  const u = short(f.url);
  if (u.startsWith('wwplugin:')) return 'wwplugin';
  if (!f.url && /\$/.test(f.functionName)) return 'codec';
  if (/^(protobufjs|@protobufjs|@grpc\/proto-loader|long):/.test(u)) return 'codec';
  if (u.includes('protocol/codec') || u.includes('proto-definition')) return 'codec';
  if (u.startsWith('@grpc/grpc-js:')) return 'grpc-js';
  if (u.startsWith('@nestjs/')) return 'nestjs';
  if (u.startsWith('rxjs:')) return 'rxjs';
  if (u.startsWith('node:') || !f.url) return f.functionName.startsWith('(') ? f.functionName : 'node';
  return 'other';
};
const groupSelf = new Map();
let end = profile.samples.length;
if (until) {
  for (let i = profile.samples.length - 1; i >= start; i--) {
    if (has(profile.samples[i], until)) {
      end = i + 1;
      break;
    }
  }
}
const fnSelf = new Map();
const fileSelf = new Map();
let total = 0;
for (let i = start; i < end; i++) {
  const n = byId.get(profile.samples[i]);
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const f = n.callFrame;
  const where = short(f.url) || f.functionName;
  if (f.functionName === '(idle)') continue;
  total += dt;
  const key = `${f.functionName || '(anonymous)'}  ${short(f.url)}:${f.lineNumber + 1}`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + dt);
  fileSelf.set(where, (fileSelf.get(where) ?? 0) + dt);
  const g = group(f);
  groupSelf.set(g, (groupSelf.get(g) ?? 0) + dt);
}
const fmt = (us) => (calls ? `${(us / calls).toFixed(2).padStart(8)} µs/call` : `${(us / 1000).toFixed(1).padStart(8)} ms`);
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const show = (title, m) => {
  console.log(`\n## ${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)} ${pct(v)}  ${k}`);
};
console.log(`${file}: ${fmt(total)} busy (not idle) from sample ${start}`);
show('by part', groupSelf);
show('by file', fileSelf);
show('by function', fnSelf);
