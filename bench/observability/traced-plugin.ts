// The benchmark's plugin with an OpenTelemetry SDK registered (no exporter), as a traced app's
// setup file would do before the app starts; then the plain benchmark plugin.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider());
await import('../plugin/main.js');
