/**
 * One load in a process of its own (forked by RemoteLoad), so that a soak measures each client's
 * memory and handles apart from the others' and from the harness. argv[2]: the LoadSpec as JSON.
 * It answers RemoteLoad's requests over the IPC channel, and exits when the channel closes.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { residentMb } from '../test/support/proc.js';
import { DaemonLoad, type LoadSpec, openLoad } from './load.js';
import type { WorkerReply, WorkerRequest } from './remote-load.js';

const spec = JSON.parse(process.argv[2] as string) as LoadSpec;
const send = (reply: WorkerReply) => process.send?.(reply);

// Listening keeps the IPC channel open (an active handle), so first: only what the load opens counts.
process.on('message', (request: WorkerRequest) => {
  answer(request).then(
    (result) => send({ id: request.id, result }),
    (error: Error) => send({ id: request.id, error: `${error.name}: ${error.message}` }),
  );
});
// stdout and stderr are made at their first use (a pipe's is a handle): made now, a log line of the load's is not counted.
for (const stream of [process.stdout, process.stderr]) stream.write('');
const before = process.getActiveResourcesInfo();
const load = await openLoad(spec);
const daemonPid = load instanceof DaemonLoad ? load.daemon.pid : undefined;

let closed = false;
process.on('disconnect', () => {
  if (closed) process.exit(0);
  // The harness went away first: close what can be closed (the daemon child), then go.
  void load.close().finally(() => process.exit(1));
});

/** The resources in `now` beyond those in `earlier` (by kind, e.g. TCPSocketWrap, Timeout). */
function extra(now: string[], earlier: string[]): string[] {
  const left = [...earlier];
  return now.filter((kind) => {
    const at = left.indexOf(kind);
    if (at < 0) return true;
    left.splice(at, 1);
    return false;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answer(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'start':
      load.start(request.perSecond);
      return null;
    case 'stop':
      load.stop();
      return null;
    case 'settle':
      await load.settle(request.boundMs);
      return null;
    case 'memory': {
      if (request.collect) {
        // The most thorough collection V8 has ('last-resort', as before an out-of-memory): besides the garbage it gives
        // back the young generation, which V8 grows in bursts of allocation (up to 128 MB here) and a plain gc() keeps.
        // What is left is what the client holds.
        (globalThis as { gc?: (options: object) => void }).gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
        // The daemon's the same way, through its inspector: its RSS is otherwise its garbage's and young generation's too,
        // which rise and fall by a quarter between samples 5 s apart.
        if (load instanceof DaemonLoad) await load.daemon.collectGarbage();
        await sleep(200);
      }
      const memory = process.memoryUsage();
      return {
        rssMb: Math.round(memory.rss / 2 ** 20),
        heapMb: Math.round(memory.heapUsed / 2 ** 20),
        heapTotalMb: Math.round(memory.heapTotal / 2 ** 20),
        externalMb: Math.round(memory.external / 2 ** 20),
        // Which of V8's spaces its reserved size is in.
        spacesMb: Object.fromEntries(
          getHeapSpaceStatistics().map((space) => [space.space_name.replace(/_space$/, ''), Math.round(space.space_size / 2 ** 20)]),
        ),
        daemonRssMb: daemonPid === undefined ? undefined : residentMb(daemonPid),
        resources: extra(process.getActiveResourcesInfo(), before).length,
      };
    }
    case 'close': {
      await load.close();
      closed = true;
      // Sockets close a moment after close() resolves: give them up to 10 s to be gone.
      let leaked = extra(process.getActiveResourcesInfo(), before);
      for (let waited = 0; waited < 10_000 && leaked.length > 0; waited += 250) {
        await sleep(250);
        leaked = extra(process.getActiveResourcesInfo(), before);
      }
      return { sent: load.sent, transactions: load.transactions, leaked };
    }
  }
}

send({ id: 0, result: { journalDir: load.journalDir, deliveryTimeoutMs: load.deliveryTimeoutMs } });
