import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DiscardReport } from './discards.js';
import type { InputName, TopicCounts } from './intake.js';
import { InputInUseError } from './stream-input.js';

/** A topic's messages now: counted since start, and where those not yet acknowledged are. */
export interface TopicStatus extends TopicCounts {
  topic: string;
  /** In an open batch, in a closed batch waiting to be sent, in a Produce request waiting for its answer. */
  batching: number;
  waitingToSend: number;
  waitingForAcks: number;
  /** Journaled and not yet acknowledged, failed or held: on disk (the three above included). */
  onDisk: number;
  discarded: number;
}

export interface DaemonStatus {
  pid: number;
  startedAt: number;
  now: number;
  inputs: {
    dgram?: { path: string; receiveBufferBytes: number };
    stream?: { path: string; clients: number };
    tcp?: { address: string; clients: number };
  };
  received: Record<InputName, number> & { total: number };
  accepted: number;
  delivered: number;
  discarded: number;
  /** Accepted and not yet durable in the journal. */
  unjournaled: number;
  /** Journaled before this start and not yet delivered. */
  replaying: number;
  /** Records not yet acknowledged, over every journal (this start's and those replayed). */
  unacknowledged: number;
  mayDuplicate: number;
  metadata: { fetchedAt: number; changedAt: number };
  topics: TopicStatus[];
}

export interface StatusSource {
  status(): DaemonStatus;
  discards(): DiscardReport;
  refreshMetadata(): Promise<void>;
}

const PAGES = [
  ['/status', 'counters, queues per topic and metadata times'],
  ['/discards', 'discarded messages by reason and topic, in reporting periods'],
  ['/metrics', 'the same counters in Prometheus text format'],
] as const;

/**
 * The daemon's status interface on loopback HTTP: every page as plain text and, with `.json`, as
 * JSON; /metrics in Prometheus format; POST /metadata/refresh fetches the metadata at once.
 */
export class StatusServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async listen(port: number, source: StatusSource): Promise<StatusServer> {
    const server = createServer((request, response) => {
      handle(request, response, source).catch((error: Error) => send(response, 500, 'text/plain', `${error.message}\n`));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'EADDRINUSE' ? new InputInUseError(`status port 127.0.0.1:${port} is in use by another process`) : error),
      );
      server.listen(port, '127.0.0.1', resolve);
    });
    const address = server.address();
    return new StatusServer(server, typeof address === 'object' && address ? address.port : port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function handle(request: IncomingMessage, response: ServerResponse, source: StatusSource): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (request.method === 'POST' && path === '/metadata/refresh') {
    await source.refreshMetadata();
    send(response, 200, 'application/json', `${JSON.stringify({ refreshed: true, fetchedAt: source.status().metadata.fetchedAt })}\n`);
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain', 'only GET (and POST /metadata/refresh)\n');
    return;
  }
  switch (path) {
    case '/':
      return send(response, 200, 'text/html; charset=utf-8', indexPage(source.status()));
    case '/status':
      return send(response, 200, 'text/plain; charset=utf-8', statusText(source.status()));
    case '/status.json':
      return send(response, 200, 'application/json', `${JSON.stringify(source.status(), null, 2)}\n`);
    case '/discards':
      return send(response, 200, 'text/plain; charset=utf-8', discardsText(source.discards()));
    case '/discards.json':
      return send(response, 200, 'application/json', `${JSON.stringify(source.discards(), null, 2)}\n`);
    case '/metrics':
      return send(response, 200, 'text/plain; version=0.0.4', prometheus(source.status(), source.discards()));
    default:
      return send(response, 404, 'text/plain', `no page ${path}; pages: ${PAGES.map(([page]) => page).join(', ')}\n`);
  }
}

function send(response: ServerResponse, code: number, type: string, body: string): void {
  response.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(body);
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : 'never');

export function statusText(status: DaemonStatus): string {
  const lines = [
    `kafka-wire daemon, pid ${status.pid}, up since ${iso(status.startedAt)}`,
    `received ${status.received.total} (dgram ${status.received.dgram}, stream ${status.received.stream}, tcp ${status.received.tcp})`,
    `accepted ${status.accepted}, delivered ${status.delivered}, discarded ${status.discarded}, unjournaled ${status.unjournaled}`,
    `unacknowledged ${status.unacknowledged} (replaying from an earlier run: ${status.replaying}), may duplicate ${status.mayDuplicate}`,
    `metadata fetched ${iso(status.metadata.fetchedAt)}, changed ${iso(status.metadata.changedAt)}`,
    '',
    'topic                           accepted  journaled  delivered  discarded  batching  to-send  for-acks  on-disk',
  ];
  for (const t of status.topics) {
    lines.push(
      `${t.topic.padEnd(30)} ${[t.accepted, t.journaled, t.delivered, t.discarded].map((n) => String(n).padStart(10)).join('')} ` +
        `${[t.batching, t.waitingToSend, t.waitingForAcks, t.onDisk].map((n) => String(n).padStart(9)).join('')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function discardsText(report: DiscardReport): string {
  const lines = [`discards since ${iso(report.since)} (reporting period ${report.intervalMs} ms)`];
  const counts = (label: string, values: Record<string, number>) => {
    const nonZero = Object.entries(values).filter(([, n]) => n > 0);
    lines.push(`${label}: ${nonZero.length === 0 ? 'none' : nonZero.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  };
  counts('total', report.totals);
  for (const [label, period] of [
    ['current period', report.current],
    ['latest finished period', report.latest],
  ] as const) {
    if (!period) continue;
    lines.push('', `${label} #${period.id}, from ${iso(period.start)}`);
    counts('  by reason', period.counts);
    for (const [topic, t] of Object.entries(period.topics)) {
      lines.push(`  topic ${topic}: ${t.count} (rate limited ${t.rateLimited}), client timestamps ${iso(t.begin)} to ${iso(t.end)}`);
    }
    if (period.recentBadTopics.length > 0)
      lines.push(`  recent bad topics: ${period.recentBadTopics.map((t) => JSON.stringify(t)).join(' ')}`);
    for (const prefix of period.recentMalformed) lines.push(`  recent malformed (base64 prefix): ${prefix}`);
  }
  return `${lines.join('\n')}\n`;
}

export function prometheus(status: DaemonStatus, report: DiscardReport, memory: NodeJS.MemoryUsage = process.memoryUsage()): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
    out.push(`# HELP kafka_wire_daemon_${name} ${help}`, `# TYPE kafka_wire_daemon_${name} ${type}`);
    for (const [labels, value] of samples) out.push(`kafka_wire_daemon_${name}${labels} ${value}`);
  };
  const label = (key: string, value: string) => `{${key}="${value.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"}`;
  metric(
    'received_total',
    'counter',
    'Messages read, by input.',
    (['dgram', 'stream', 'tcp'] as const).map((input) => [label('input', input), status.received[input]]),
  );
  metric(
    'discarded_total',
    'counter',
    'Messages that will never reach Kafka, by reason.',
    Object.entries(report.totals).map(([reason, n]) => [label('reason', reason), n]),
  );
  metric(
    'accepted_total',
    'counter',
    'Messages journaled for delivery, by topic.',
    status.topics.map((t) => [label('topic', t.topic), t.accepted]),
  );
  metric(
    'delivered_total',
    'counter',
    'Messages acknowledged by Kafka, by topic.',
    status.topics.map((t) => [label('topic', t.topic), t.delivered]),
  );
  metric('unacknowledged', 'gauge', 'Messages journaled and not yet acknowledged.', [['', status.unacknowledged]]);
  metric('unjournaled', 'gauge', 'Messages accepted and not yet durable.', [['', status.unjournaled]]);
  metric(
    'queued',
    'gauge',
    'Messages in the producer by topic and stage.',
    status.topics.flatMap((t) =>
      (['batching', 'waitingToSend', 'waitingForAcks', 'onDisk'] as const).map((stage): [string, number] => [
        `{topic="${t.topic}",stage="${stage}"}`,
        t[stage],
      ]),
    ),
  );
  metric('metadata_fetched_timestamp_seconds', 'gauge', 'When metadata was last fetched.', [['', status.metadata.fetchedAt / 1000]]);
  // The process's memory, so a long-running daemon's growth shows, and where: the V8 heap, Buffers, or neither (malloc).
  metric('resident_memory_bytes', 'gauge', 'Resident set size of the daemon process.', [['', memory.rss]]);
  metric('heap_used_bytes', 'gauge', 'V8 heap in use.', [['', memory.heapUsed]]);
  metric('array_buffers_bytes', 'gauge', 'Memory of Buffers and other ArrayBuffers.', [['', memory.arrayBuffers]]);
  return `${out.join('\n')}\n`;
}

function indexPage(status: DaemonStatus): string {
  const html = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = status.topics
    .map(
      (t) =>
        `<tr><td>${html(t.topic)}</td>${[t.accepted, t.delivered, t.discarded, t.batching, t.waitingToSend, t.waitingForAcks, t.onDisk]
          .map((n) => `<td>${n}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  const links = PAGES.map(
    ([page, what]) =>
      `<li><a href="${page}">${page}</a> ` +
      (page === '/metrics' ? `(Prometheus): ${what}</li>` : `(<a href="${page}.json">JSON</a>): ${what}</li>`),
  ).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kafka-wire daemon</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em} table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right} td:first-child,th:first-child{text-align:left}
</style>
</head><body>
<h1>kafka-wire daemon</h1>
<p>pid ${status.pid}, up since ${iso(status.startedAt)}.
Received <b id="received">${status.received.total}</b>, delivered <b id="delivered">${status.delivered}</b>,
discarded <b id="discarded">${status.discarded}</b>, unacknowledged <b id="unacknowledged">${status.unacknowledged}</b>.</p>
<p>Metadata fetched ${iso(status.metadata.fetchedAt)}, changed ${iso(status.metadata.changedAt)}.
<form method="post" action="/metadata/refresh" style="display:inline"><button>Refresh metadata</button></form></p>
<table id="topics"><tr><th>topic</th><th>accepted</th><th>delivered</th><th>discarded</th>
<th>batching</th><th>waiting to send</th><th>waiting for acks</th><th>on disk</th></tr>
${rows}
</table>
<ul>
${links}
</ul>
</body></html>
`;
}
