import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Nest's dependency injection needs legacy decorators with emitted parameter types.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } } as never,
  test: {
    include: ['test/**/*.e2e-spec.ts', 'test/unit/**/*.spec.ts', 'libs/**/*.spec.ts', 'apps/**/*.spec.ts'],
    // e2e tests spawn real plugin processes: two files at a time fit two cores.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Absolute: configs that extend this one (the scaffold test) run from other roots.
    reporters: ['default', fileURLToPath(new URL('./test/support/summary-reporter.ts', import.meta.url))],
  },
});
