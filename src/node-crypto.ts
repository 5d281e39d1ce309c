/**
 * node:crypto, loaded on first use rather than at import: only SCRAM, a durable journal's directory
 * lock and the daemon's helper build need it. Loading it and node:child_process at import cost
 * kafka-wire's import about 2.8 MB of RSS and 1.1 MB of heap (Node 24, with the bundle's comments
 * made ASCII in the same change).
 */
export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}
