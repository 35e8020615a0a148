import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '@wwplugin/nestjs';
import { httpStatusOf, WwPluginError } from '@wwplugin/nestjs';
import { ROOT } from './support/host-harness.js';

type ErrorClass = new (message: string) => WwPluginError;

/** Every error class the package exports, found by walking its exports. */
const exported = Object.entries(api as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && (entry[1] as { prototype: unknown }).prototype instanceof WwPluginError,
);

/** The rows of the user guide's error table: class → [code, HTTP]. */
function table(): Map<string, { code: string; http: string }> {
  const guide = readFileSync(join(ROOT, 'docs/user-guide.md'), 'utf8');
  const start = guide.indexOf('| class | code | HTTP | when |');
  expect(start, 'the error table of docs/user-guide.md').toBeGreaterThan(0);
  const rows = new Map<string, { code: string; http: string }>();
  for (const line of guide.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [, cls, code, http] = line.split('|').map((c) => c.trim());
    rows.set(cls!.replace(/`/g, ''), { code: code!.replace(/`/g, ''), http: http!.replace(/`/g, '') });
  }
  return rows;
}

function httpOf(err: WwPluginError): string {
  const { status, retryAfter } = httpStatusOf(err);
  if (err instanceof api.PluginFunctionError) return `${status} or status`;
  return retryAfter === undefined ? String(status) : `${status} + Retry-After`;
}

// docs/user-guide.md's error table says what the code does: every exported class, its wire code
// and the HTTP status WwPluginHttpExceptionFilter answers with.
describe('docs: the error table of the user guide matches the code', () => {
  const rows = table();

  it('finds the exported error classes', () => {
    expect(exported.length).toBeGreaterThanOrEqual(19);
  });

  it('lists exactly the exported error classes', () => {
    expect([...rows.keys()].sort()).toEqual(exported.map(([name]) => name).sort());
  });

  it.each(exported)('%s: code and HTTP status as the table says', (name, Cls) => {
    const err = new Cls('message');
    expect(err.name).toBe(name);
    const row = rows.get(name)!;
    expect(row.code.split(' / ')[0]).toBe(err.code);
    expect(row.http).toBe(httpOf(err));
  });
});
