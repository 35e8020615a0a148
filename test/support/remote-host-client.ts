// Drives test/fixtures/remote-host (a host in another network namespace) over its stdin/stdout.
import type { PluginEvent, PluginInfo } from '@wwplugin/nestjs';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ReplaySubject, type Observable } from 'rxjs';
import { ROOT, waitFor } from './host-harness.js';

export const REMOTE_HOST = `${ROOT}dist/test/fixtures/remote-host/main.js`;
export const ROGUE_CLIENT = `${ROOT}dist/test/fixtures/remote-host/rogue.js`;

/** An error the remote host's API threw, as it crossed the pipe: name, code, message, details. */
export interface RemoteError {
  name: string;
  code?: string;
  message: string;
  details?: Record<string, unknown>;
}

export class RemoteHostClient {
  /** Every event and message since the host started (replayed to late subscribers). */
  readonly events$ = new ReplaySubject<PluginEvent>();
  readonly messages$ = new ReplaySubject<{ plugin: string; topic: string; payload: any }>();
  readonly ready: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: RemoteError) => void }>();
  readonly stderr: string[] = [];
  private readonly all: PluginEvent[] = [];

  constructor(readonly child: ChildProcess) {
    let onReady!: () => void;
    this.ready = new Promise<void>((resolve) => (onReady = resolve));
    this.events$.subscribe((e) => this.all.push(e));
    child.stderr!.on('data', (b: Buffer) => this.stderr.push(b.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // a log line
      }
      if (msg.ready) onReady();
      else if (msg.event) this.events$.next(msg.event);
      else if (msg.message) this.messages$.next(msg.message);
      else if (msg.id) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(msg.error);
        else p?.resolve(msg.value);
      }
    });
  }

  request<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  call<T = unknown>(name: string, fn: string, args?: unknown, opts?: { timeoutMs?: number }): Promise<T> {
    return this.request<T>('call', { name, fn, args, opts });
  }

  list(): Promise<PluginInfo[]> {
    return this.request<PluginInfo[]>('list');
  }

  async info(name: string): Promise<PluginInfo> {
    return (await this.list()).find((p) => p.name === name)!;
  }

  /** The first event of `type` for `plugin` from now on (events before this call are skipped). */
  nextEvent<T extends PluginEvent['type']>(type: T, plugin: string, ms = 20_000): Promise<Extract<PluginEvent, { type: T }>> {
    const seen = new Set(this.all);
    const match = (e: PluginEvent) => e.type === type && e.plugin === plugin && !seen.has(e);
    return waitFor(this.events$ as Observable<PluginEvent>, match, ms) as Promise<Extract<PluginEvent, { type: T }>>;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    await Promise.race([this.request('close').catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
