// The demo: a Nest HTTP host that loads the example plugins and walks through every feature,
// printing each step. `npm run demo` exits 0 at the end; pass --serve to keep it running.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { PluginClientProxy, PluginHostService } from '@wwplugin/nestjs';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';
import { tour } from './tour.js';

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn', 'log'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
const url = await app.getUrl();
const host = app.get(PluginHostService);
const dist = fileURLToPath(new URL('../../', import.meta.url)); // dist/apps/

let failed = false;
try {
  await tour(host, { url, client: app.get(PluginClientProxy), plugin: (name) => `${dist}${name}/src/main.js` });
} catch (err) {
  failed = true;
  console.error('\nDemo failed:', err);
}
if (process.argv.includes('--serve') && !failed) {
  console.log(`\nServing on ${url} (GET /greet?name=Ada, /plugins, /events/:topic). Ctrl-C to stop.`);
  console.log(`Plugins page: ${url}/wwplugin/`);
  console.log(`Metrics:      ${url}/metrics`);
  // A little traffic, so the page has calls/s and latencies to show.
  setInterval(() => void host.call('echo', 'greet', { name: 'page' }).catch(() => undefined), 200).unref();
} else {
  await app.close();
  console.log(failed ? 'Demo failed.' : '\nDemo finished: every plugin stopped, host closed.');
  process.exit(failed ? 1 : 0);
}
