import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import { JOB_ID_PATTERN, STORE_UNAVAILABLE, WS_CLOSE_GOING_AWAY, type ErrorCode, type WsClientMessage, type WsServerMessage } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { JobBackend, OpenJob } from "../jobs/backend.ts";
import { recordFanout, trackConnection } from "../metrics/track.ts";
import { upgradeWith } from "./upgrade.ts";

export interface WsOptions {
  maxSubscriptions: number;
  /** Buffered bytes past which a socket is closed; the client reconnects and resumes with `since`. */
  maxBackpressure: number;
}

interface SocketState {
  /** Subscribed jobs (null while the lookup runs), held open until unsubscribed. */
  subscriptions: Map<string, OpenJob | null>;
  /** Ends the socket's count in the connection gauge. */
  untrack: () => void;
  /** Jobs whose past events are still being replayed, with the last sequence number sent. */
  replaying: Map<string, number>;
  closed: boolean;
}

const topic = (jobId: string) => `job/${jobId}`;

/** Accepts only the documented message shapes; anything else is answered with an error. */
function parseMessage(raw: ArrayBuffer): WsClientMessage | string {
  let msg: unknown;
  try {
    msg = JSON.parse(Buffer.from(raw).toString("utf8"));
  } catch {
    return "Messages must be JSON.";
  }
  if (typeof msg !== "object" || msg === null) return "Messages must be JSON objects.";
  const { type, jobId, since } = msg as Record<string, unknown>;
  if (type !== "subscribe" && type !== "unsubscribe") return 'type must be "subscribe" or "unsubscribe".';
  if (typeof jobId !== "string") return "jobId must be a string.";
  if (since !== undefined && (typeof since !== "number" || !Number.isInteger(since) || since < 0)) return "since must be a non-negative integer.";
  return type === "subscribe" ? { type, jobId, ...(since === undefined ? {} : { since }) } : { type, jobId };
}

/** `/ws`: subscribe to any number of jobs; events are published once per job to a uWS topic. */
export function mountWebSocket(app: TemplatedApp, jobs: JobBackend, hub: EventHub, options: WsOptions): { closeAll(): void } {
  const sockets = new Set<WebSocket<SocketState>>();
  hub.addSink((jobId, event) => {
    if (app.publish(topic(jobId), event.json)) recordFanout("ws", event.json);
  });

  const send = (ws: WebSocket<SocketState>, msg: WsServerMessage) => ws.send(JSON.stringify(msg));
  const error = (ws: WebSocket<SocketState>, code: ErrorCode, message: string, jobId?: string) =>
    send(ws, { type: "error", code, message, ...(jobId ? { jobId } : {}) });

  /** Sends past events while the socket has room; joins the live topic once caught up. */
  const replay = (ws: WebSocket<SocketState>) => {
    const state = ws.getUserData();
    for (const [jobId, sent] of state.replaying) {
      const job = state.subscriptions.get(jobId)?.job;
      if (!job) {
        state.replaying.delete(jobId);
        continue;
      }
      let cursor = sent;
      for (const event of job.events.since(sent)) {
        if (ws.getBufferedAmount() > options.maxBackpressure / 2) break;
        ws.send(event.json);
        cursor = event.seq;
      }
      if (cursor === job.events.lastSeq) {
        state.replaying.delete(jobId);
        ws.subscribe(topic(jobId));
      } else state.replaying.set(jobId, cursor);
    }
  };

  const subscribe = async (ws: WebSocket<SocketState>, jobId: string, since: number) => {
    const state = ws.getUserData();
    if (!JOB_ID_PATTERN.test(jobId)) return error(ws, "invalid_job_id", "jobId is not a job id.", jobId.slice(0, 64));
    if (state.subscriptions.has(jobId)) return error(ws, "bad_request", "Already subscribed to this job.", jobId);
    if (state.subscriptions.size >= options.maxSubscriptions) {
      return error(ws, "bad_request", `At most ${options.maxSubscriptions} subscriptions per connection.`, jobId);
    }
    state.subscriptions.set(jobId, null);
    const found = await jobs.open(jobId).catch((err: unknown) => String(err));
    // The socket may have closed, or unsubscribed, while the job was looked up.
    if (state.closed || state.subscriptions.get(jobId) !== null) return typeof found === "object" ? found?.release() : undefined;
    ws.cork(() => {
      if (typeof found === "string" || !found) {
        state.subscriptions.delete(jobId);
        if (typeof found === "string") return error(ws, "store_unavailable", STORE_UNAVAILABLE, jobId);
        return error(ws, "not_found", "No such job (it may have expired).", jobId);
      }
      state.subscriptions.set(jobId, found);
      send(ws, { type: "subscribed", jobId, lastSeq: found.job.events.lastSeq });
      state.replaying.set(jobId, since);
      replay(ws);
    });
  };

  const unsubscribe = (ws: WebSocket<SocketState>, jobId: string) => {
    const state = ws.getUserData();
    if (!state.subscriptions.has(jobId)) return error(ws, "bad_request", "Not subscribed to this job.", jobId.slice(0, 64));
    state.subscriptions.get(jobId)?.release();
    state.subscriptions.delete(jobId);
    state.replaying.delete(jobId);
    ws.unsubscribe(topic(jobId));
    send(ws, { type: "unsubscribed", jobId });
  };

  app.ws<SocketState>("/ws", {
    maxPayloadLength: 16 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: options.maxBackpressure,
    // The bundled uWS typings declare this flag as a number; 1 means on.
    closeOnBackpressureLimit: 1,
    upgrade: upgradeWith<SocketState>(() => ({ subscriptions: new Map(), replaying: new Map(), untrack: () => undefined, closed: false })),
    open: (ws) => {
      sockets.add(ws);
      ws.getUserData().untrack = trackConnection("ws");
    },
    message: (ws, raw, isBinary) => {
      if (isBinary) return void error(ws, "bad_request", "Binary frames are not accepted on /ws; send JSON text.");
      const msg = parseMessage(raw);
      if (typeof msg === "string") return void error(ws, "bad_request", msg);
      if (msg.type === "subscribe") void subscribe(ws, msg.jobId, msg.since ?? 0);
      else ws.cork(() => unsubscribe(ws, msg.jobId));
    },
    drain: (ws) => replay(ws),
    close: (ws) => {
      sockets.delete(ws);
      const state = ws.getUserData();
      state.closed = true;
      state.untrack();
      for (const found of state.subscriptions.values()) found?.release();
    },
  });

  return {
    closeAll: () => {
      for (const ws of [...sockets]) ws.end(WS_CLOSE_GOING_AWAY, "server shutting down");
    },
  };
}
