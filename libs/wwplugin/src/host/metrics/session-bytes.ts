/**
 * Bytes of gRPC messages on every plugin session of this host, counted where the host server
 * decodes and encodes them (one addition per frame, metrics on or off; chunk pieces count once).
 */
export const sessionBytes = { in: 0, out: 0 };
