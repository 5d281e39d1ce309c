import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nodeCrypto } from '../node-crypto.js';

/** The small C programs that give Node what it lacks: AF_UNIX SOCK_DGRAM sockets. */
export type NativeHelper = 'dgram-relay' | 'dgram-send';

/** native/NAME.c, from src/daemon/ or dist/daemon/. */
export function nativeSource(name: NativeHelper): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', `${name}.c`);
}

/**
 * The compiled helper, built from its source with the machine's `cc` (or $CC) when the cached
 * copy is missing; cached under ~/.cache/kafka-wire keyed by the source's hash, so an upgrade
 * rebuilds it. Throws an Error naming the compiler's complaint when it cannot be built.
 */
export async function nativeHelper(name: NativeHelper): Promise<string> {
  const source = nativeSource(name);
  const hash = nodeCrypto().createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kafka-wire');
  const binary = join(cache, `${name}-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cache, { recursive: true });
  const building = `${binary}.${process.pid}.tmp`;
  const compiler = process.env.CC ?? 'cc';
  try {
    // Loaded here, not at import: node:child_process adds about 0.8 MB to every process's RSS.
    await promisify(process.getBuiltinModule('node:child_process').execFile)(compiler, ['-O2', '-o', building, source]);
  } catch (error) {
    throw new Error(`"${compiler}" could not build ${source}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  renameSync(building, binary);
  return binary;
}
