import { randomUUID } from "node:crypto";
import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import {
  LIVE_AUDIO_FORMATS,
  LIVE_CLOSE,
  LIVE_PATH,
  WS_CLOSE_GOING_AWAY,
  type ErrorCode,
  type LiveAudioFormat,
  type LiveClientMessage,
  type LiveServerMessage,
} from "@whisperrr/shared";
import type { Config } from "../config.ts";
import type { JobBackend } from "../jobs/backend.ts";
import { LiveSession } from "../live/session.ts";
import { trackLiveSession } from "../metrics/track.ts";
import { parseJobOptions } from "./options.ts";
import { upgradeWith } from "./upgrade.ts";

interface LiveSocket {
  session: LiveSession | null;
  /** Set once the socket is ended or closed: uWS sockets must not be touched after that. */
  gone: boolean;
  startTimer: NodeJS.Timeout | null;
  /** Ends the session's count in /metrics. */
  untrack: () => void;
}

type LiveParseError = { code: "bad_request" | "invalid_option"; message: string };

/** Accepts only `start` (with valid options) and `stop`; a bad language or task is `invalid_option`, as over HTTP. */
export function parseLiveMessage(raw: ArrayBuffer): LiveClientMessage | LiveParseError {
  const bad = (message: string): LiveParseError => ({ code: "bad_request", message });
  let msg: unknown;
  try {
    msg = JSON.parse(Buffer.from(raw).toString("utf8"));
  } catch {
    return bad("Text messages must be JSON.");
  }
  if (typeof msg !== "object" || msg === null) return bad("Messages must be JSON objects.");
  const fields = msg as Record<string, unknown>;
  if (fields.type === "stop") return { type: "stop" };
  if (fields.type !== "start") return bad('type must be "start" or "stop".');
  if (!(LIVE_AUDIO_FORMATS as readonly unknown[]).includes(fields.format)) return bad(`format must be one of: ${LIVE_AUDIO_FORMATS.join(", ")}.`);
  const str = (v: unknown) => (typeof v === "string" ? v : v === undefined ? undefined : String(v));
  const parsed = parseJobOptions((key) => str(fields[key]));
  if (!parsed.ok) return { code: "invalid_option", message: parsed.message };
  return { type: "start", format: fields.format as LiveAudioFormat, language: parsed.options.language, task: parsed.options.task };
}

/** `/ws/live`: one live transcription session per socket (protocol in shared/src/live.ts). */
export function mountLiveSocket(app: TemplatedApp, jobs: JobBackend, config: Config): { closeAll(): void } {
  const sockets = new Set<WebSocket<LiveSocket>>();
  let sessions = 0;

  const send = (ws: WebSocket<LiveSocket>, msg: LiveServerMessage) => {
    if (!ws.getUserData().gone) ws.send(JSON.stringify(msg));
  };
  const end = (ws: WebSocket<LiveSocket>, code: number, reason: string) => {
    const state = ws.getUserData();
    if (state.gone) return;
    state.gone = true;
    ws.end(code, reason.slice(0, 120));
  };
  const refuse = (ws: WebSocket<LiveSocket>, code: ErrorCode, message: string, closeCode: number) => {
    send(ws, { type: "error", code, message });
    end(ws, closeCode, code);
  };

  const start = (ws: WebSocket<LiveSocket>, msg: Extract<LiveClientMessage, { type: "start" }>) => {
    const state = ws.getUserData();
    if (state.session) return send(ws, { type: "error", code: "bad_request", message: "The session has already started." });
    const engine = jobs.engine;
    if (!engine || !jobs.isReady) return refuse(ws, "not_ready", `Not ready: ${jobs.readiness.reason ?? "loading"}.`, LIVE_CLOSE.tryAgainLater);
    if (sessions >= config.maxLiveSessions) {
      return refuse(ws, "live_sessions_full", `All ${config.maxLiveSessions} live sessions are in use (MAX_LIVE_SESSIONS); retry later.`, LIVE_CLOSE.tryAgainLater);
    }
    if (state.startTimer) clearTimeout(state.startTimer);
    sessions++;
    state.untrack = trackLiveSession();
    const id = randomUUID();
    engine.log.info({ sessionId: id, format: msg.format, language: msg.language, task: msg.task }, "live session started");
    state.session = new LiveSession(id, { format: msg.format, language: msg.language ?? "auto", task: msg.task ?? "transcribe" }, engine, {
      send: (m) => send(ws, m),
      close: (code, reason) => end(ws, code, reason),
    });
  };

  app.ws<LiveSocket>(LIVE_PATH, {
    // 1 MB: about 32 s of s16le in one frame; larger frames close the socket (1009).
    maxPayloadLength: 1 << 20,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: 1 << 20,
    // The bundled uWS typings declare this flag as a number; 1 means on.
    closeOnBackpressureLimit: 1,
    upgrade: upgradeWith<LiveSocket>(() => ({ session: null, gone: false, startTimer: null, untrack: () => undefined })),
    open: (ws) => {
      sockets.add(ws);
      const limit = config.liveIdleTimeoutSeconds;
      ws.getUserData().startTimer = setTimeout(() => refuse(ws, "idle_timeout", `No start message within ${limit} s.`, LIVE_CLOSE.idleTimeout), limit * 1000);
    },
    message: (ws, raw, isBinary) => {
      const state = ws.getUserData();
      if (isBinary) {
        if (!state.session) return refuse(ws, "bad_request", 'Send {"type":"start",…} before audio.', LIVE_CLOSE.protocolError);
        // uWS reuses `raw` after this callback returns.
        return state.session.audio(Buffer.from(raw.slice(0)));
      }
      const msg = parseLiveMessage(raw);
      if ("code" in msg) return send(ws, { type: "error", ...msg });
      if (msg.type === "start") return start(ws, msg);
      if (!state.session) return refuse(ws, "bad_request", "stop before start.", LIVE_CLOSE.protocolError);
      state.session.stop();
    },
    close: (ws) => {
      sockets.delete(ws);
      const state = ws.getUserData();
      state.gone = true;
      if (state.startTimer) clearTimeout(state.startTimer);
      if (state.session) {
        state.session.abort();
        state.untrack();
        sessions--;
      }
    },
  });

  return {
    closeAll: () => {
      for (const ws of [...sockets]) end(ws, WS_CLOSE_GOING_AWAY, "server shutting down");
    },
  };
}
