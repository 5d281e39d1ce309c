/**
 * node:crypto, loaded on first use rather than at import. Loading it adds about 5 MB to a
 * process's RSS (measured on Node 24: +5.2 MB on top of node:net and the other modules a producer
 * loads), and only SCRAM, a durable journal's directory lock and the daemon's helper build need it.
 */
export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}
