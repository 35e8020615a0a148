import { Controller, Get, Param, Query, Sse, type MessageEvent } from '@nestjs/common';
import { PluginHostService } from '@wwplugin/nestjs';
import { map, type Observable } from 'rxjs';

/** The demo host's HTTP face: call a plugin, list plugins, and watch plugin messages as SSE. */
@Controller()
export class EventsController {
  constructor(private readonly host: PluginHostService) {}

  @Get('greet')
  greet(@Query('name') name = 'Ada'): Promise<string> {
    return this.host.call('echo', 'greet', { name });
  }

  @Get('plugins')
  plugins() {
    return this.host.list().map(({ id, name, version, state, pid, restarts, functions }) => ({ id, name, version, state, pid, restarts, functions }));
  }

  /** Server-Sent Events: every message plugins emit on `topic`. */
  @Sse('events/:topic')
  events(@Param('topic') topic: string): Observable<MessageEvent> {
    return this.host.messages(topic).pipe(map((m) => ({ data: { plugin: m.plugin, topic: m.topic, payload: m.payload, at: m.at } })));
  }
}
