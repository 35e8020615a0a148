import { ForbiddenException, type INestApplicationContext } from '@nestjs/common';
import type { CustomTransportStrategy } from '@nestjs/microservices';
// The base class alone: the package's index would load every transport's client and server.
import { Server } from '@nestjs/microservices/server/server.js';
import { firstValueFrom, isObservable, timer, filter, race } from 'rxjs';
import { WwPluginCallContext } from '../protocol/call-context.js';
import type { CallFrame, ShutdownFrame } from '../protocol/frames.js';
import { type IncomingCall } from '../protocol/session-channel.js';
import { PUSH_REFUSED, UNKNOWN_FUNCTION } from '../wwplugin.messages.js';
import { PluginFunctionRegistry } from './plugin-function.registry.js';
import { PluginSession } from './plugin-session.js';
import { reportingDenials, reportsDenials } from './access-denial.reporter.js';
import { WWPLUGIN_TRANSPORT } from './wwplugin-transport.js';

// A push cannot be cancelled: one signal that never fires serves them all, made on first use.
let idleSignal: AbortSignal | undefined;
const neverAborted = (): AbortSignal => (idleSignal ??= new AbortController().signal);

export { WWPLUGIN_TRANSPORT };

/**
 * The plugin's transport: a Nest transport strategy whose "broker" is the host session.
 * It serves @PluginFunction methods and any @MessagePattern/@EventPattern handlers of controllers
 * (found by PluginFunctionsExplorer, so they run with the same enhancers and keep their errors).
 * bootstrapPlugin starts it beside the plugin's Nest application context.
 * @publicApi
 */
export class PluginTransportServer extends Server implements CustomTransportStrategy {
  override transportId = WWPLUGIN_TRANSPORT;
  private app?: INestApplicationContext;
  private session?: PluginSession;

  /** Gives the strategy the application whose providers hold the session and the registry. */
  attach(app: INestApplicationContext): void {
    this.app = app;
  }

  async listen(callback: (err?: unknown, ...rest: unknown[]) => void): Promise<void> {
    try {
      if (!this.app) throw new Error('PluginTransportServer.attach(app) must be called before listen(); use bootstrapPlugin().');
      const registry = this.app.get(PluginFunctionRegistry, { strict: false });
      const session = (this.session = this.app.get(PluginSession, { strict: false }));
      const info = { id: session.id, name: session.name, version: session.options.version };
      const topics = [...new Set(registry.pushHandlers.map((h) => h.topic))];
      this.routePushes(registry, session, info);
      // Made once: a call to a function of the plugin allocates none of this.
      const fromHost = { caller: 'host', plugin: info };
      const unknown = (fn: string, available: string[]) => UNKNOWN_FUNCTION(info.name, fn, available);
      const invoke = (call: CallFrame, incoming: IncomingCall) =>
        registry.invoke(call, incoming, call.caller ? { caller: call.caller, plugin: info } : fromHost, unknown);
      const run = reportsDenials ? (call: CallFrame, incoming: IncomingCall) => reportingDenials(call.function, () => invoke(call, incoming)) : invoke;
      await session.connect(registry.infos(), topics, (call, incoming) => this.dispatch(info, call, incoming, run));
      callback();
    } catch (err) {
      callback(err);
    }
  }

  private dispatch(
    plugin: WwPluginCallContext['plugin'],
    call: CallFrame,
    incoming: IncomingCall,
    run: (call: CallFrame, incoming: IncomingCall) => unknown,
  ): unknown {
    const tracing = this.session?.tracing;
    if (tracing) {
      const traced = { plugin: plugin.name, fn: call.function, kind: call.caller ? 'relay' : 'call', caller: call.caller };
      return tracing.api.serveTraced(tracing.tracer, traced, call, () => run(call, incoming));
    }
    return run(call, incoming);
  }

  /** Pushes go to @OnPush methods and to @EventPattern handlers of the same topic. */
  private routePushes(registry: PluginFunctionRegistry, session: PluginSession, plugin: WwPluginCallContext['plugin']): void {
    session.messages().subscribe((msg) => {
      // Built only for a push someone handles: most pushes go to Observables, not handlers.
      let ctx: WwPluginCallContext | undefined;
      const context = () =>
        (ctx ??= new WwPluginCallContext({
          fn: msg.topic,
          caller: 'host',
          parameters: [],
          plugin,
          get signal() {
            return neverAborted();
          },
        }));
      for (const h of registry.pushHandlers) {
        if (h.topic === '*' || h.topic === msg.topic) this.runQuietly(h.label, () => h.handler(msg.payload, context()));
      }
      for (const h of registry.eventHandlers) {
        if (h.topic === msg.topic) this.runQuietly(h.label, () => h.handler(msg.payload, context()));
      }
    });
  }

  private runQuietly(label: string, fn: () => unknown): void {
    // A failing push handler is the plugin's problem: log it and keep serving.
    Promise.resolve()
      .then(async () => {
        const out = await fn();
        if (isObservable(out)) await firstValueFrom(out, { defaultValue: undefined });
      })
      .catch((err) => {
        // A guard that refuses a push drops it on purpose: worth a debug line, not an error.
        if (err instanceof ForbiddenException) return this.logger.debug?.(PUSH_REFUSED(label, err.message));
        this.logger.error(`${label} failed on a push: ${(err as Error)?.message ?? String(err)}`);
      });
  }

  /** Waits until the calls in flight are done or `graceMs` passes. */
  async drain(graceMs: number): Promise<void> {
    const session = this.session;
    if (!session || session.handling === 0) return;
    await firstValueFrom(race(timer(graceMs), timer(0, 10).pipe(filter(() => session.handling === 0))));
  }

  on(): void {
    // The session reports its own events through PluginSession; nothing to subscribe to here.
  }

  unwrap<T>(): T {
    return this.session as T;
  }

  /** The session ends only once the host has read our last frames (the app's shutdown ends it too). */
  async close(): Promise<void> {
    await this.session?.close();
  }

  /** Exposed for bootstrapPlugin: requests to stop. */
  shutdownRequests() {
    return this.session!.shutdownRequests;
  }

  lost() {
    return this.session!.lost;
  }
}

export type { ShutdownFrame };
