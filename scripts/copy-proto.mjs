// The library loads its .proto at run time: ship the repo's proto/ inside the package's dist.
// Only files that differ are written: `npm pack` (its prepack builds) may run while tests read them.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
cpSync(`${root}proto`, `${root}libs/wwplugin/dist/proto`, {
  recursive: true,
  filter: (src, dest) => !existsSync(dest) || !src.endsWith('.proto') || !readFileSync(src).equals(readFileSync(dest)),
});
