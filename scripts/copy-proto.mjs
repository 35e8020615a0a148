// The package ships its .proto (the contract for plugins in other languages) and the admin page's files
// (loaded at run time) inside its dist.
// Only files that differ are written: `npm pack` (its prepack builds) may run while tests read them.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
cpSync(`${root}proto`, `${root}libs/wwplugin/dist/proto`, {
  recursive: true,
  filter: (src, dest) => !existsSync(dest) || !src.endsWith('.proto') || !readFileSync(src).equals(readFileSync(dest)),
});
cpSync(`${root}libs/wwplugin/src/admin/page`, `${root}libs/wwplugin/dist/admin/page`, {
  recursive: true,
  filter: (src, dest) => !existsSync(dest) || !/\.(html|js|css)$/.test(src) || !readFileSync(src).equals(readFileSync(dest)),
});
