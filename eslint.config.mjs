// ESLint (flat config) with typescript-eslint: the recommended rules, tuned to the code as written.
// Formatting is Prettier's job (.prettierrc.json); no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'scripts/templates/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      // Nest's own types take Function (decorator targets, metadata readers).
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Factories of Nest's async options take any arguments, as Nest's own types do.
      '@typescript-eslint/no-explicit-any': ['error', { ignoreRestArgs: true }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      // Tests poke at wire shapes and thrown values.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The schematics are CommonJS: Nest's CLI requires them.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly' } },
  },
  {
    // The admin page's script runs in the browser.
    files: ['libs/wwplugin/src/admin/page/**/*.js'],
    languageOptions: { globals: { document: 'readonly', window: 'readonly', EventSource: 'readonly' } },
  },
  {
    // Type-level checks: their variables exist to be typed, never used.
    files: ['test/types/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
);
