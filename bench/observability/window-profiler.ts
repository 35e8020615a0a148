// Loaded with --import by `bench:observability --profile` into the bench's host and plugin
// processes: SIGWINCH starts a CPU profile and the next one writes it, so that only the measured
// calls are in it (not start-up). The host child sends the signals around its sequential calls.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { basename } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR!;
const session = new Session();
session.connect();
let running = false;
process.on('SIGWINCH', () => {
  if (!running) {
    running = true;
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 100 });
    session.post('Profiler.start');
    return;
  }
  running = false;
  session.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(`${dir}/${basename(process.argv[1] ?? 'node')}-${process.pid}.cpuprofile`, JSON.stringify(r.profile));
  });
});
