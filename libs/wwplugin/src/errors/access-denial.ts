/** Starts the stderr line in which a sandboxed plugin reports an ERR_ACCESS_DENIED it met. */
const ACCESS_DENIED_MARK = 'wwplugin:access-denied ';

/** One denial: Node's permission (`FileSystemRead`, `ChildProcess`, ...), the resource, and where it happened. */
export interface AccessDenial {
  permission: string;
  resource: string;
  during: string;
}

/** The error's denial, when it is Node's ERR_ACCESS_DENIED. */
export function accessDenialOf(err: unknown, during: string): AccessDenial | undefined {
  const e = err as { code?: unknown; permission?: unknown; resource?: unknown } | null;
  if (!e || typeof e !== 'object' || e.code !== 'ERR_ACCESS_DENIED') return undefined;
  return { permission: String(e.permission ?? 'access'), resource: typeof e.resource === 'string' ? e.resource : '', during };
}

/** The line a plugin writes to stderr for a denial. */
export function accessDenialLine(denial: AccessDenial): string {
  return `${ACCESS_DENIED_MARK}${JSON.stringify(denial)}`;
}

/** The denial a stderr line reports, if it is one. */
export function parseAccessDenialLine(line: string): AccessDenial | undefined {
  if (!line.startsWith(ACCESS_DENIED_MARK)) return undefined;
  try {
    const d = JSON.parse(line.slice(ACCESS_DENIED_MARK.length)) as Partial<AccessDenial>;
    return { permission: String(d.permission ?? ''), resource: String(d.resource ?? ''), during: String(d.during ?? '') };
  } catch {
    return undefined;
  }
}
