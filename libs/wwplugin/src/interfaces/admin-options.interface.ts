import type { CanActivate, ExecutionContext, Type } from '@nestjs/common';
import type { Observable } from 'rxjs';

/** Options of WwPluginAdminModule.forRoot / forRootAsync. @publicApi */
export interface WwPluginAdminOptions {
  /** A guard for every route of the page (a class, resolved from the app's providers or built, or an instance). */
  guard?: Type<CanActivate> | CanActivate;
  /** Or a function in the shape of CanActivate.canActivate; with both, both must allow. */
  canActivate?: (context: ExecutionContext) => boolean | Promise<boolean> | Observable<boolean>;
  /** How often the page gets a fresh snapshot (ms), besides one per plugin event. Default 1 000. */
  updateIntervalMs?: number;
  /** Log records kept per plugin for the page. Default 200. */
  logRecords?: number;
  /** Latencies kept per plugin for p50/p99. Default 1 024. */
  latencySamples?: number;
}

/** Set outside the options factory (the routes exist before any factory runs). @publicApi */
export interface WwPluginAdminExtras {
  /** Where the page is mounted, below any global prefix. Default 'wwplugin'. */
  path?: string;
}

/** One plugin as the page shows it. @publicApi */
export interface AdminPluginRow {
  id: string;
  name: string;
  version: string;
  state: string;
  pid: number | null;
  /** Where it runs when it has no local process: a remote replica's name and peer address. */
  where: string | null;
  /** Its index among the instances of its name, and how many there are (see PluginSpec.instances). */
  instance: number;
  instances: number;
  /** Time since it last became running (ms); null when not running. */
  uptimeMs: number | null;
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  callsPerSec: number;
  errorRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  inFlight: number;
  /** Round trip of the last answered heartbeat (ms). */
  heartbeatRttMs: number | null;
  pushesDropped: number;
  /** Seq of its newest log record: the page fetches the records when it changes. */
  logSeq: number;
}

/** What GET api/plugins answers and each `snapshot` SSE event carries. @publicApi */
export interface AdminSnapshot {
  at: string;
  plugins: AdminPluginRow[];
}
