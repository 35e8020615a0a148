import type { WireParameter, ParameterType } from './parameters.js';

// TypeScript shapes of the frames in proto/wwplugin/v1/wwplugin.proto, as proto-loader decodes them
// (camelCase fields, `kind` naming the frame's oneof member).

export interface ParameterSpecFrame {
  name: string;
  type?: ParameterType;
  optional?: boolean;
}
export interface FunctionInfoFrame {
  name: string;
  description?: string;
  params?: ParameterSpecFrame[];
  stream?: boolean;
}
export interface HelloFrame {
  protocolVersion: number;
  pluginId: string;
  name: string;
  version?: string;
  description?: string;
  functions?: FunctionInfoFrame[];
  pid?: number;
  topics?: string[];
  acksPushes?: boolean;
  /** A remote plugin's replica name (a pod name, a host name). */
  replica?: string;
}
export interface WelcomeFrame {
  protocolVersion: number;
  pluginId: string;
  hostVersion?: string;
  maxMessageBytes?: number;
  defaultTimeoutMs?: number;
  streamIdleTimeoutMs?: number;
  pushAckEvery?: number;
  pushAckDelayMs?: number;
  /** The host takes Log frames. */
  acceptsLogs?: boolean;
}
export interface RefuseFrame {
  code: string;
  reason: string;
}
export interface CallFrame {
  id: number;
  function: string;
  args?: WireParameter[];
  timeoutMs?: number;
  target?: string;
  stream?: boolean;
  caller?: string;
  /** Streaming calls: items the caller accepts before it grants more with Credit; 0 = no limit. */
  credit?: number;
  /** W3C trace context of the caller's span; empty when not traced. */
  traceparent?: string;
  tracestate?: string;
}
export interface ResultFrame {
  id: number;
  value?: WireParameter;
}
export interface StreamItemFrame {
  id: number;
  value?: WireParameter;
}
export interface StreamEndFrame {
  id: number;
}
export interface ErrorFrame {
  id: number;
  code: string;
  message: string;
  name?: string;
  detailsJson?: string;
}
export interface CancelFrame {
  id: number;
  reason?: string;
}
export interface PushFrame {
  topic: string;
  payload?: WireParameter;
  seq?: number;
  /** W3C trace context of the span that pushed; empty when not traced. */
  traceparent?: string;
  tracestate?: string;
}
export interface EmitFrame {
  topic: string;
  payload?: WireParameter;
  /** W3C trace context of the span that emitted; empty when not traced. */
  traceparent?: string;
  tracestate?: string;
}
export interface PingFrame {
  seq: number;
}
export interface ShutdownFrame {
  graceMs?: number;
  reason?: string;
}

export interface CreditFrame {
  id: number;
  items: number;
}
export interface PushAckFrame {
  seq: number;
}
export interface EmitOverflowFrame {
  dropped: number;
  droppedSinceLast?: number;
}

export interface ChunkFrame {
  id: number;
  data?: Uint8Array;
  last?: boolean;
}

/** One record of a plugin's Nest Logger (plugin → host). */
export interface LogFrame {
  level: string;
  context?: string;
  message: string;
  stack?: string;
}

/** A remote plugin is going: no new calls, please (plugin → host). */
export interface DrainingFrame {
  graceMs?: number;
}

/** One frame on the session stream: exactly one member is set, and `kind` names it. */
export interface Frame {
  kind?: FrameKind;
  hello?: HelloFrame;
  welcome?: WelcomeFrame;
  refuse?: RefuseFrame;
  call?: CallFrame;
  result?: ResultFrame;
  item?: StreamItemFrame;
  end?: StreamEndFrame;
  error?: ErrorFrame;
  cancel?: CancelFrame;
  push?: PushFrame;
  emit?: EmitFrame;
  ping?: PingFrame;
  pong?: PingFrame;
  shutdown?: ShutdownFrame;
  chunk?: ChunkFrame;
  credit?: CreditFrame;
  ack?: PushAckFrame;
  emitOverflow?: EmitOverflowFrame;
  log?: LogFrame;
  draining?: DrainingFrame;
}
export type FrameKind =
  | 'hello'
  | 'welcome'
  | 'refuse'
  | 'call'
  | 'result'
  | 'item'
  | 'end'
  | 'error'
  | 'cancel'
  | 'push'
  | 'emit'
  | 'ping'
  | 'pong'
  | 'shutdown'
  | 'chunk'
  | 'credit'
  | 'ack'
  | 'emitOverflow'
  | 'log'
  | 'draining';
