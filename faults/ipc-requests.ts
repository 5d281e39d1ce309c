import type { ChildProcess } from 'node:child_process';

/** What a child answers to a request: the request's id, and its result or the error's message. */
export type IpcReply = { id: number; result?: unknown; error?: string };

/**
 * Requests to a child process over its IPC channel, each answered by the reply that carries
 * its id. Every wait has a bound, and the child's exit fails whatever is still waiting.
 */
export class IpcRequests<Request extends { op: string }> {
  private readonly waiting = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private gone: Error | undefined;

  /** `name` names the child in errors ("fault proxy host"). */
  constructor(
    private readonly child: ChildProcess,
    private readonly name: string,
  ) {
    child.on('message', (reply: IpcReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (reply.error !== undefined) waiter.reject(new Error(`${name}: ${reply.error}`));
      else waiter.resolve(reply.result);
    });
    child.once('exit', (code, signal) => {
      this.gone = new Error(`${name} exited (${signal ?? `code ${code}`})`);
      for (const waiter of this.waiting.values()) waiter.reject(this.gone);
      this.waiting.clear();
    });
  }

  /** Sends `request` under a new id and waits at most `boundMs` for its reply. */
  send(request: Request, boundMs: number): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    if (!this.child.connected) return Promise.reject(new Error(`${this.name} is disconnected`));
    const id = this.nextId++;
    const reply = this.reply(id, request.op, boundMs);
    this.child.send({ ...request, id });
    return reply;
  }

  /** The reply with `id`, within `boundMs`; id 0 is the one a child sends unasked when it is ready. */
  reply(id: number, what: string, boundMs: number): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      const bound = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${what} within ${boundMs} ms`));
      }, boundMs);
      this.waiting.set(id, {
        resolve: (result) => {
          clearTimeout(bound);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(bound);
          reject(error);
        },
      });
    });
  }
}
