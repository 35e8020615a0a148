import { fileURLToPath } from 'node:url';

// Compiled to dist/bench/support/: the repository root is three levels up.
/** Root of the repository. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The raw reference's proto (read from the source tree: tsc does not copy it). */
export const BENCH_PROTO = `${ROOT}bench/proto/bench.proto`;
/** Built entries of the benchmark's child processes. */
export const DIST_BENCH = `${ROOT}dist/bench/`;
/** Where results are written. */
export const RESULTS_DIR = `${ROOT}bench/results/`;
