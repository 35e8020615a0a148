// Preloaded (node --import) by bench/call-counts.mjs into each process it measures: counts the calls of
// the Node primitives a message costs, and writes the totals to COUNTS_DIR/<pid>.json every 100 ms.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';

const counts = {};
const wrap = (obj, name, key) => {
  const original = obj[name];
  obj[name] = function (...args) {
    counts[key] = (counts[key] ?? 0) + 1;
    return original.apply(this, args);
  };
};
wrap(process, 'nextTick', 'nextTick');
wrap(globalThis, 'setImmediate', 'setImmediate');
wrap(globalThis, 'setTimeout', 'setTimeout');
wrap(Buffer, 'allocUnsafe', 'Buffer.allocUnsafe');
wrap(Buffer, 'alloc', 'Buffer.alloc');
wrap(Buffer, 'concat', 'Buffer.concat');
wrap(Readable.prototype, 'push', 'Readable.push');
wrap(Readable.prototype, 'pause', 'Readable.pause');
wrap(Readable.prototype, 'resume', 'Readable.resume');
const dir = (process.env.COUNTS_DIR ??= mkdtempSync(`${tmpdir()}/wwplugin-counts-`));
const file = `${dir}/${process.pid}.json`;
// Written aside then renamed: a reader never sees half a file.
setInterval(() => {
  writeFileSync(`${file}.part`, JSON.stringify(counts));
  renameSync(`${file}.part`, file);
}, 100).unref();
