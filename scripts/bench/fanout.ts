// Many subscribers on one job: WebSocket clients (the `ws` package) and raw-HTTP SSE clients,
// each timing every live event from its `at` (when the server appended it) to its arrival.
import { connect, type Socket } from "node:net";
import WebSocket from "ws";
import type { JobSnapshot } from "@whisperrr/shared";
import { memoryOf, upload, type TestServer } from "./server.ts";

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface FanoutResult {
  wsClients: number;
  sseClients: number;
  /** Events appended after every client was subscribed, each timed at every client. */
  liveEvents: number;
  /** Deliveries of live events that never arrived. */
  missed: number;
  connectSeconds: number;
  delayMs: { all: Percentiles; ws: Percentiles; sse: Percentiles };
  rssWithoutMb: number;
  rssWithMb: number;
}

interface Receipt {
  seq: number;
  delayMs: number;
}

const SEQ = /"seq":(\d+)/;
const AT = /"at":"([^"]+)"/;

/** Times a message without parsing it whole: the cost of JSON.parse × 2,000 would be the client's, not the server's. */
function receipt(json: string, now: number): Receipt | null {
  const seq = json.match(SEQ)?.[1];
  const at = json.match(AT)?.[1];
  return seq && at ? { seq: Number(seq), delayMs: now - Date.parse(at) } : null;
}

function wsClient(base: string, jobId: string, since: number, into: Receipt[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`);
    ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", jobId, since })));
    ws.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"subscribed"')) return resolve(ws);
      const r = receipt(text, Date.now());
      if (r) into.push(r);
    });
    ws.on("error", reject);
  });
}

function sseClient(port: number, jobId: string, since: number, into: Receipt[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`GET /api/jobs/${jobId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: ${since}\r\n\r\n`);
    });
    let buffered = "";
    let connected = false;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      const now = Date.now();
      buffered += chunk;
      if (!connected && buffered.includes(": connected")) {
        connected = true;
        resolve(socket);
      }
      let end: number;
      while ((end = buffered.indexOf("\n\n")) !== -1) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = block.match(/^data: (.*)$/m)?.[1];
        const r = data ? receipt(data, now) : null;
        if (r) into.push(r);
      }
    });
    socket.on("error", reject);
  });
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

async function snapshot(base: string, id: string): Promise<JobSnapshot> {
  return (await (await fetch(`${base}/api/jobs/${id}`)).json()) as JobSnapshot;
}

/** Starts a job on `file`, attaches `perTransport` WebSocket and SSE subscribers, and times every live event. */
export async function measureFanout(server: TestServer, file: string, perTransport: number): Promise<FanoutResult> {
  const job = await upload(server.base, file);
  const pid = server.child.pid!;
  const rssWithoutMb = memoryOf(pid).rssMb;
  const since = (await snapshot(server.base, job.id)).lastSeq;
  const ws: Receipt[][] = [];
  const sse: Receipt[][] = [];
  const sockets: (WebSocket | Socket)[] = [];
  const began = Date.now();
  for (let i = 0; i < perTransport; i += 100) {
    const batch = Math.min(100, perTransport - i);
    const opened = await Promise.all([
      ...Array.from({ length: batch }, () => wsClient(server.base, job.id, since, ws[ws.push([]) - 1]!)),
      ...Array.from({ length: batch }, () => sseClient(server.port, job.id, since, sse[sse.push([]) - 1]!)),
    ]);
    sockets.push(...opened);
  }
  const connectSeconds = (Date.now() - began) / 1000;
  const live = (await snapshot(server.base, job.id)).lastSeq;
  const rssWithMb = memoryOf(pid).rssMb;
  const final = await waitForEnd(server.base, job.id);
  await new Promise((r) => setTimeout(r, 1000)); // last deliveries
  for (const s of sockets) s instanceof WebSocket ? s.terminate() : s.destroy();
  const delays = (clients: Receipt[][]) => clients.flatMap((c) => c.filter((r) => r.seq > live).map((r) => r.delayMs));
  const liveEvents = final - live;
  const received = [...ws, ...sse].reduce((n, c) => n + new Set(c.filter((r) => r.seq > live).map((r) => r.seq)).size, 0);
  return {
    wsClients: perTransport,
    sseClients: perTransport,
    liveEvents,
    missed: liveEvents * perTransport * 2 - received,
    connectSeconds,
    delayMs: { all: percentiles([...delays(ws), ...delays(sse)]), ws: percentiles(delays(ws)), sse: percentiles(delays(sse)) },
    rssWithoutMb,
    rssWithMb,
  };
}

async function waitForEnd(base: string, id: string): Promise<number> {
  for (;;) {
    const snap = await snapshot(base, id);
    if (snap.endedAt) return snap.lastSeq;
    await new Promise((r) => setTimeout(r, 500));
  }
}
