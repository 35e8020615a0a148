import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/host-harness.js';

/**
 * Every ```ts block of the README and the guides is type-checked against the built library, so
 * the docs cannot rot. Conventions (README-compatible):
 * - each ts block is a self-contained module: it imports what it uses;
 * - a block may be named with `file=<path>` in its info string (```ts file=echo.module.ts); blocks of
 *   the same document can then import it ('./echo.module.js');
 * - only ts blocks are checked; bash, json, text, proto and other blocks are prose. There is no way
 *   to skip a ts block.
 */
const DOCS = ['README.md', 'docs/user-guide.md', 'docs/developer-guide.md', 'docs/observability.md', 'docs/remote-plugins.md'];
const TS_LANGS = new Set(['ts', 'typescript', 'mts']);
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Block {
  doc: string;
  /** Line of the block's first code line in the doc (1-based). */
  line: number;
  file: string;
  code: string;
}

/** Fenced code blocks in TypeScript, with where they start. */
function tsBlocks(doc: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  let open: { fence: string; lang: string; info: string; line: number; body: string[] } | undefined;
  lines.forEach((raw, i) => {
    if (!open) {
      const m = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)(.*)$/.exec(raw);
      if (m) open = { fence: m[1], lang: m[2].toLowerCase(), info: m[3], line: i + 2, body: [] };
      return;
    }
    const close = new RegExp(`^ {0,3}${open.fence[0] === '`' ? '`' : '~'}{${open.fence.length},}\\s*$`);
    if (!close.test(raw)) return void open.body.push(raw);
    if (TS_LANGS.has(open.lang)) {
      const named = /\bfile=([\w./-]+\.m?ts)\b/.exec(open.info)?.[1];
      blocks.push({ doc, line: open.line, file: named ?? `block-${String(blocks.length + 1).padStart(2, '0')}.ts`, code: open.body.join('\n') });
    }
    open = undefined;
  });
  if (open) throw new Error(`${doc}: the code block opened at line ${open.line - 1} is never closed.`);
  return blocks;
}

describe('docs: every TypeScript block compiles', () => {
  let dir: string;
  /** tsc's diagnostics, mapped back to `doc:line`. */
  const errorsByDoc = new Map<string, string[]>();
  const blocksByDoc = new Map<string, Block[]>();
  let exitCode = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wwplugin-docs-'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const docs = [...DOCS.filter((d) => existsSync(join(ROOT, d))).map((d) => ({ doc: d, text: readFileSync(join(ROOT, d), 'utf8') }))];
    // A canary doc with a known error: proves errors are found and mapped to the right line.
    docs.push({ doc: 'canary.md', text: "Text.\n\n```ts\nconst ok: string = 'yes';\nconst wrong: number = ok;\n```\n" });

    const where = new Map<string, Block>();
    docs.forEach(({ doc, text }, n) => {
      const blocks = tsBlocks(doc, text);
      blocksByDoc.set(doc, blocks);
      for (const block of blocks) {
        const path = join(dir, `doc${n}`, block.file);
        mkdirSync(dirname(path), { recursive: true });
        // A block without import/export would be a script sharing globals with the others.
        const code = /^\s*(import|export)\s/m.test(block.code) ? block.code : `${block.code}\nexport {};`;
        writeFileSync(path, `${code}\n`);
        where.set(relative(dir, path), block);
      }
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true, incremental: false, declaration: false, rootDir: '.', types: ['node'] },
        include: ['**/*.ts', '**/*.mts'],
        exclude: ['node_modules'],
      }),
    );
    const out = await promisify(execFile)(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir }).then(
      (r) => r.stdout,
      (e: { code?: number; stdout?: string; stderr?: string }) => ((exitCode = e.code ?? 1), `${e.stdout ?? ''}${e.stderr ?? ''}`),
    );
    for (const line of out.split('\n').filter(Boolean)) {
      const m = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line);
      const block = m && where.get(m[1]);
      const doc = block?.doc ?? '(unmapped)';
      const text = block ? `${block.doc}:${block.line + Number(m![2]) - 1}:${m![3]} ${m![4]}` : line;
      errorsByDoc.set(doc, [...(errorsByDoc.get(doc) ?? []), text]);
    }
  }, 90_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds errors and reports them at their line in the doc (canary)', () => {
    expect(exitCode).not.toBe(0);
    expect(errorsByDoc.get('canary.md')).toEqual(["canary.md:5:7 error TS2322: Type 'string' is not assignable to type 'number'."]);
    expect(errorsByDoc.get('(unmapped)')).toBeUndefined();
  });

  it('docs/user-guide.md lists every error class the library exports', async () => {
    const lib = await import('@wwplugin/nestjs');
    const classes = Object.entries(lib)
      .filter(([, v]) => typeof v === 'function' && v.prototype instanceof lib.WwPluginError)
      .map(([name]) => name);
    expect(classes.length).toBeGreaterThan(10);
    const guide = readFileSync(join(ROOT, 'docs/user-guide.md'), 'utf8');
    expect(classes.filter((name) => !guide.includes(`| \`${name}\` |`))).toEqual([]);
  });

  for (const doc of DOCS) {
    it(`${doc}: every ts block type-checks against the built library`, () => {
      expect(existsSync(join(ROOT, doc)), `${doc} is missing`).toBe(true);
      expect(blocksByDoc.get(doc)?.length ?? 0, `${doc} has no ts blocks`).toBeGreaterThan(0);
      expect(errorsByDoc.get(doc) ?? [], (errorsByDoc.get(doc) ?? []).join('\n')).toEqual([]);
    });
  }
});
