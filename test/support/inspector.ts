/**
 * Asks a Node process started with `--inspect=127.0.0.1:0` for the most thorough garbage collection
 * V8 has (the inspector's collectGarbage is a low-memory notification: all garbage, and the young
 * generation given back), so its RSS can be compared over a soak as the load workers' own is.
 */
export async function collectGarbage(webSocketUrl: string, timeoutMs = 30_000): Promise<void> {
  const socket = new WebSocket(webSocketUrl);
  const timer = setTimeout(() => socket.close(), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('close', () => reject(new Error(`the inspector at ${webSocketUrl} closed or did not answer`)), {
        once: true,
      });
    });
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('message', (event) => {
        const answer = JSON.parse(String(event.data)) as { id?: number; error?: { message: string } };
        if (answer.id !== 1) return;
        if (answer.error) reject(new Error(`HeapProfiler.collectGarbage: ${answer.error.message}`));
        else resolve();
      });
      socket.addEventListener('close', () => reject(new Error(`the inspector at ${webSocketUrl} closed before collecting`)), {
        once: true,
      });
      socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

/**
 * The inspector's WebSocket address, from the "Debugger listening on ws://…" lines a process prints
 * to stderr: the last, since the daemon re-executes itself at start (src/cli/malloc-tuning.ts) and
 * the first inspector is then gone.
 */
export function inspectorUrl(stderr: string): string | undefined {
  return [...stderr.matchAll(/Debugger listening on (ws:\/\/\S+)/g)].at(-1)?.[1];
}
