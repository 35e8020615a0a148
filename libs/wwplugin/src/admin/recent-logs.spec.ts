import { describe, expect, it } from 'vitest';
import { RecentLogs } from './recent-logs.js';

describe('RecentLogs', () => {
  it('keeps the last records of each plugin, numbered, and what is newer than a seq', () => {
    const logs = new RecentLogs(2);
    const at = new Date('2026-12-01T18:00:00Z');
    for (const message of ['one', 'two', 'three']) logs.add('a', { level: 'log', context: 'Svc', message }, at);
    logs.add('b', { level: 'error', message: 'boom', stack: 'Error: boom' }, at);
    expect(logs.of('a')).toEqual([
      { seq: 2, at: '2026-12-01T18:00:00.000Z', level: 'log', context: 'Svc', message: 'two' },
      { seq: 3, at: '2026-12-01T18:00:00.000Z', level: 'log', context: 'Svc', message: 'three' },
    ]);
    expect(logs.of('a', 2).map((r) => r.message)).toEqual(['three']);
    expect(logs.of('b')).toEqual([{ seq: 1, at: '2026-12-01T18:00:00.000Z', level: 'error', message: 'boom', stack: 'Error: boom' }]);
    expect([logs.lastSeq('a'), logs.lastSeq('c')]).toEqual([3, 0]);
    logs.keep(new Set(['b']));
    expect(logs.of('a')).toEqual([]);
    expect(logs.of('b')).toHaveLength(1);
  });

  it('cuts a long message', () => {
    const logs = new RecentLogs(1);
    logs.add('a', { level: 'log', message: 'x'.repeat(10_000) });
    expect(logs.of('a')[0]!.message).toHaveLength(4 * 1024 + 1);
  });
});
