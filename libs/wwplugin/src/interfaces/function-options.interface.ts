import type { ParameterType } from '../protocol/parameters.js';

/** Declares one argument: its type, and whether it may be left out. @publicApi */
export interface ParameterDeclaration {
  type: ParameterType;
  optional?: boolean;
}

/** Options of @PluginFunction and @HostFunction. @publicApi */
export interface FunctionOptions {
  /** Name callers use; defaults to the method name. */
  name?: string;
  description?: string;
  /** Declared arguments: calls with a missing or wrong-typed one are refused before the handler runs. */
  params?: Record<string, ParameterType | ParameterDeclaration>;
  /**
   * The function returns many values (an Observable): callers stream it with no whole-call deadline.
   * Default: true when the method's declared return type is Observable, else false.
   */
  stream?: boolean;
}
