// The library loads its .proto at run time: ship the repo's proto/ inside the package's dist.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
cpSync(`${root}proto`, `${root}libs/wwplugin/dist/proto`, { recursive: true });
