/** One log record a plugin sent, as the admin page lists it. */
export interface AdminLogRecord {
  /** Increases by one per record of this plugin: the page asks for what is newer than it has. */
  seq: number;
  at: string;
  level: string;
  context?: string;
  message: string;
  stack?: string;
}

/** Characters of a message (and of a stack) kept: the page shows recent records, not whole dumps. */
const MAX_TEXT_CHARS = 4 * 1024;

/** The last `capacity` log records of each plugin, by plugin name; memory is bounded per plugin. */
export class RecentLogs {
  private readonly rings = new Map<string, { records: AdminLogRecord[]; seq: number }>();

  constructor(private readonly capacity: number) {}

  add(plugin: string, record: { level: string; context?: string; message: string; stack?: string }, at = new Date()): void {
    let ring = this.rings.get(plugin);
    if (!ring) this.rings.set(plugin, (ring = { records: [], seq: 0 }));
    ring.seq += 1;
    const kept: AdminLogRecord = { seq: ring.seq, at: at.toISOString(), level: record.level, message: cut(record.message) };
    if (record.context) kept.context = record.context;
    if (record.stack) kept.stack = cut(record.stack);
    ring.records.push(kept);
    if (ring.records.length > this.capacity) ring.records.shift();
  }

  /** The records of `plugin` newer than `afterSeq`, oldest first. */
  of(plugin: string, afterSeq = 0): AdminLogRecord[] {
    return (this.rings.get(plugin)?.records ?? []).filter((r) => r.seq > afterSeq);
  }

  /** The seq of the newest record of `plugin` (0 for none). */
  lastSeq(plugin: string): number {
    return this.rings.get(plugin)?.seq ?? 0;
  }

  /** Drops the records of every plugin not in `names`. */
  keep(names: Set<string>): void {
    for (const plugin of this.rings.keys()) if (!names.has(plugin)) this.rings.delete(plugin);
  }
}

function cut(text: string): string {
  return text.length > MAX_TEXT_CHARS ? `${text.slice(0, MAX_TEXT_CHARS)}…` : text;
}
