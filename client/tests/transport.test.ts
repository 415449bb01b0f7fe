import { test } from "uvu";
import * as assert from "uvu/assert";
import type { JobEvent, WsClientMessage } from "@whisperrr/shared";
import { JobFeed, type ConnectionState, type FeedProblem, type SocketLike, type StreamLike } from "../src/lib/transport.ts";

const JOB = "3f0c1a2b-1234-4abc-8def-0123456789ab";
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

function segment(seq: number, index: number): JobEvent {
  return { type: "segment", jobId: JOB, seq, at: "", index, start: index, end: index + 1, text: `s${index}` };
}
const completed = (seq: number, count: number): JobEvent => ({
  type: "completed", jobId: JOB, seq, at: "", text: "", language: "en", durationSeconds: 1, processingSeconds: 1, segmentCount: count,
});

class FakeSocket implements SocketLike {
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onerror: SocketLike["onerror"] = null;
  onclose: SocketLike["onclose"] = null;
  sent: WsClientMessage[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data) as WsClientMessage);
  }
  close() {
    this.closed = true;
  }
  /** Server side: accept the subscription and replay `events`. */
  serve(events: JobEvent[], lastSeq = events.at(-1)?.seq ?? 0) {
    this.onopen?.({});
    this.receive({ type: "subscribed", jobId: JOB, lastSeq });
    for (const e of events) this.receive(e);
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop() {
    this.onclose?.({});
  }
}

class FakeStream implements StreamLike {
  onopen: StreamLike["onopen"] = null;
  onerror: StreamLike["onerror"] = null;
  listeners = new Map<string, (ev: { data: string }) => void>();
  closed = false;
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (ev: { data: string }) => void) {
    this.listeners.set(type, listener);
  }
  close() {
    this.closed = true;
  }
  emit(event: JobEvent) {
    this.listeners.get(event.type)?.({ data: JSON.stringify(event) });
  }
}

function harness(options: { since?: number; accessToken?: string; failSocket?: boolean } = {}) {
  const sockets: FakeSocket[] = [];
  const streams: FakeStream[] = [];
  const events: JobEvent[] = [];
  const states: ConnectionState[] = [];
  const problems: FeedProblem[] = [];
  const feed = new JobFeed(
    JOB,
    { event: (e) => events.push(e), state: (s) => states.push(s), problem: (p) => problems.push(p) },
    {
      origin: "http://example.test:8080",
      accessToken: options.accessToken ?? null,
      since: options.since ?? 0,
      retryDelaysMs: [0],
      connectTimeoutMs: 50,
      maxAttempts: 3,
      openSocket: (url) => {
        if (options.failSocket) throw new Error("blocked");
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      openStream: (url) => {
        const s = new FakeStream(url);
        streams.push(s);
        return s;
      },
    },
  );
  return { feed, sockets, streams, events, states, problems };
}

test("WebSocket: subscribes with since, reports the state, closes after the terminal event", () => {
  const h = harness({ since: 4 });
  const ws = h.sockets[0]!;
  assert.is(ws.url, "ws://example.test:8080/ws");
  ws.serve([segment(5, 0), completed(6, 1)]);
  assert.equal(ws.sent, [{ type: "subscribe", jobId: JOB, since: 4 }]);
  assert.equal(h.events.map((e) => e.seq), [5, 6]);
  assert.equal(h.states, ["connecting", "websocket", "closed"]);
  assert.ok(ws.closed, "socket closed once the job ended");
  assert.is(h.streams.length, 0, "no SSE when the socket works");
});

test("duplicates and stale events are dropped", () => {
  const h = harness();
  h.sockets[0]!.serve([segment(1, 0), segment(1, 0), segment(2, 1)]);
  h.sockets[0]!.receive(segment(2, 1));
  h.sockets[0]!.receive({ ...segment(3, 2), jobId: "other" });
  assert.equal(h.events.map((e) => e.seq), [1, 2]);
});

test("a socket that cannot connect falls back to SSE at once, resuming after the last event", async () => {
  const h = harness({ since: 2, accessToken: "k y" });
  assert.match(h.sockets[0]!.url, /\/ws\?access_token=k%20y$/);
  h.sockets[0]!.drop();
  assert.equal(h.states, ["connecting", "reconnecting"]);
  await tick();
  const es = h.streams[0]!;
  assert.is(es.url, `http://example.test:8080/api/jobs/${JOB}/events?lastEventId=2&access_token=k%20y`);
  es.onopen?.({});
  es.emit(segment(3, 0));
  es.emit(completed(4, 1));
  assert.equal(h.events.map((e) => e.seq), [3, 4]);
  assert.equal(h.states, ["connecting", "reconnecting", "sse", "closed"]);
  assert.ok(es.closed, "EventSource closed after the terminal event so it does not reconnect");
});

test("WebSocket constructor throwing (blocked) also falls back to SSE", async () => {
  const h = harness({ failSocket: true });
  await tick();
  assert.is(h.streams.length, 1);
});

test("a socket that never answers times out into SSE", async () => {
  const h = harness();
  h.sockets[0]!.onopen?.({});
  await tick(80);
  assert.ok(h.sockets[0]!.closed);
  assert.is(h.streams.length, 1);
});

test("drop mid-job: resumes from the last seq over SSE, every event exactly once", async () => {
  const h = harness();
  const ws = h.sockets[0]!;
  ws.serve([segment(1, 0), segment(2, 1)], 2);
  ws.drop();
  await tick();
  const es = h.streams[0]!;
  assert.match(es.url, /lastEventId=2$/);
  // The server replays from 3, but a resent 2 must not show twice.
  es.emit(segment(2, 1));
  es.emit(segment(3, 2));
  es.onerror?.({});
  await tick();
  const es2 = h.streams[1]!;
  assert.ok(es.closed);
  assert.match(es2.url, /lastEventId=3$/);
  es2.emit(segment(4, 3));
  es2.emit(completed(5, 4));
  assert.equal(h.events.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.equal(h.events.filter((e) => e.type === "segment").map((e) => e.type === "segment" && e.index), [0, 1, 2, 3]);
});

test("a gap in sequence numbers triggers a resubscription instead of skipping", async () => {
  const h = harness();
  h.sockets[0]!.serve([segment(1, 0), segment(3, 2)]);
  assert.equal(h.events.map((e) => e.seq), [1]);
  await tick();
  assert.match(h.streams[0]!.url, /lastEventId=1$/);
});

test("a refusal from the server is reported once and not retried", async () => {
  const h = harness();
  h.sockets[0]!.onopen?.({});
  h.sockets[0]!.receive({ type: "error", code: "not_found", message: "No such job.", jobId: JOB });
  await tick();
  assert.equal(h.problems, [{ code: "not_found", message: "No such job." }]);
  assert.is(h.streams.length, 0);
  assert.is(h.states.at(-1), "closed");
});

test("gives up with connection_lost after repeated failures", async () => {
  const h = harness();
  h.sockets[0]!.drop();
  for (let i = 0; i < 3; i++) {
    await tick();
    h.streams.at(-1)!.onerror?.({});
  }
  await tick();
  assert.is(h.problems[0]?.code, "connection_lost");
  assert.is(h.states.at(-1), "closed");
});

test("close() stops everything", async () => {
  const h = harness();
  h.feed.close();
  h.sockets[0]!.drop();
  await tick();
  assert.is(h.streams.length, 0);
  assert.ok(h.sockets[0]!.closed);
});

test.run();
