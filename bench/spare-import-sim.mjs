// The CPU a shared spare spends on a bundle up to the Nest app's creation, without a host: this
// process loads what a shared spare loads (plugin/spare-runner.ts), then imports the bundle, whose
// bootstrapPlugin fails at once for want of a host (WWPLUGIN_ADDRESS) and exits; the CPU from the
// import to that exit is printed as one JSON line. Run bundle variants in turns:
//   node bench/spare-import-sim.mjs path/to/bundle/main.mjs
await import('reflect-metadata');
await import('../libs/wwplugin/dist/plugin/index.js');
(await import('../libs/wwplugin/dist/protocol/proto-definition.js')).pluginHostService();
const bundle = new URL(process.argv[2], `file://${process.cwd()}/`).href;
const c0 = process.cpuUsage();
const t0 = performance.now();
const exit = process.exit.bind(process);
process.exit = () => {
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({ wallMs: +(performance.now() - t0).toFixed(1), cpuMs: +((c.user + c.system) / 1000).toFixed(1) }));
  exit(0);
};
// The plugin's start-failure report is expected: not shown.
process.stderr.write = () => true;
await import(bundle).catch(() => undefined);
process.exit(0);
