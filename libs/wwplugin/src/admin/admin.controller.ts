import {
  BadRequestException,
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  ParseIntPipe,
  Post,
  Query,
  Req,
  Sse,
  UseFilters,
  UseGuards,
  type MessageEvent,
} from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { defer, type Observable, startWith } from 'rxjs';
import { PluginHostService } from '../host/plugin-host.service.js';
import { WwPluginHttpExceptionFilter } from '../http/wwplugin-http-exception.filter.js';
import type { AdminSnapshot } from '../interfaces/admin-options.interface.js';
import { ADMIN_UNKNOWN_ACTION } from '../wwplugin.messages.js';
import { AdminGuard } from './admin.guard.js';
import { AdminSnapshots } from './admin-snapshots.js';
import type { AdminLogRecord } from './recent-logs.js';

/** The page's files, shipped beside this module in the package (dist/admin/page). */
const page = (file: string) => readFileSync(new URL(`./page/${file}`, import.meta.url), 'utf8');
const ACTIONS = ['start', 'stop', 'restart'] as const;

/** The plugins page: its static files, a JSON snapshot, live updates over SSE, and start/stop/restart. */
@Controller()
@UseGuards(AdminGuard)
@UseFilters(WwPluginHttpExceptionFilter)
export class AdminController {
  // Read once: the files never change while the app runs.
  private readonly html = page('index.html');
  private readonly script = page('admin-page.js');
  private readonly style = page('admin-page.css');

  constructor(
    private readonly host: PluginHostService,
    private readonly snapshots: AdminSnapshots,
  ) {}

  /** The page; its relative URLs resolve below the path it was asked at, wherever it is mounted. */
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-cache')
  index(@Req() request: { originalUrl?: string; url: string }): string {
    const path = (request.originalUrl ?? request.url).split('?')[0]!;
    return this.html.replace('%BASE%', escapeAttribute(path.endsWith('/') ? path : `${path}/`));
  }

  @Get('admin-page.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  pageScript(): string {
    return this.script;
  }

  @Get('admin-page.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-cache')
  pageStyle(): string {
    return this.style;
  }

  @Get('api/plugins')
  plugins(): AdminSnapshot {
    return this.snapshots.snapshot();
  }

  /** Recent log records of one plugin (id or name), those after `after` (a seq) when given. */
  @Get('api/plugins/:plugin/logs')
  logs(@Param('plugin') plugin: string, @Query('after', new ParseIntPipe({ optional: true })) after?: number): AdminLogRecord[] {
    return this.snapshots.logs.of(this.host.get(plugin)?.name ?? plugin, after);
  }

  /** `snapshot` events (the first at once) and `plugin-event` events, as they happen. */
  @Sse('api/events')
  events(): Observable<MessageEvent> {
    return defer(() => this.snapshots.updates$.pipe(startWith(this.snapshots.snapshotEvent())));
  }

  @Post('api/plugins/:plugin/:action')
  @HttpCode(200)
  async act(@Param('plugin') plugin: string, @Param('action') action: string): Promise<AdminSnapshot> {
    if (!ACTIONS.includes(action as never)) throw new BadRequestException(ADMIN_UNKNOWN_ACTION(action, ACTIONS));
    await this.host[action as (typeof ACTIONS)[number]](plugin);
    // The page's rows, not PluginInfo: its spec may hold secrets in `env`.
    return this.snapshots.snapshot();
  }
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
