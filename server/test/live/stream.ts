import { execFileSync } from "node:child_process";
import WebSocket from "ws";
import { LIVE_PATH, LIVE_SAMPLE_RATE, type LiveServerMessage, type LiveStartMessage } from "@whisperrr/shared";

/** Decodes any file (or an ffmpeg lavfi source such as "anoisesrc=d=30") to 16 kHz mono s16le. */
export function pcmOf(source: string): Buffer {
  const input = source.includes("=") && !source.includes("/") ? ["-f", "lavfi", "-i", source] : ["-i", source];
  return execFileSync("ffmpeg", ["-v", "error", ...input, "-ac", "1", "-ar", String(LIVE_SAMPLE_RATE), "-f", "s16le", "pipe:1"], { maxBuffer: 1 << 28 });
}

export interface Received {
  message: LiveServerMessage;
  /** Milliseconds since the first audio frame was sent. */
  at: number;
}

export interface LiveRun {
  received: Received[];
  closeCode: number;
  closeReason: string;
  /** Milliseconds since the first frame when `stop` was sent. */
  stopAt: number;
}

export interface StreamOptions {
  start?: Partial<LiveStartMessage>;
  frameMs?: number;
  /** 1 = real time (a simulated microphone), 0 = as fast as possible. */
  pace?: number;
  /** Sent raw instead of `pcm` (e.g. webm bytes); split in `frameMs`-sized pieces by byte share. */
  bytes?: Buffer;
  /** Stop sending (without `stop`) after this many ms of audio, to simulate a stall. */
  stallAfterMs?: number;
}

/** Streams s16le `pcm` to /ws/live in frames on a timer, then `stop`; resolves when the socket closes. */
export function streamLive(base: string, pcm: Buffer, options: StreamOptions = {}): Promise<LiveRun> {
  const frameMs = options.frameMs ?? 100;
  const pace = options.pace ?? 1;
  const payload = options.bytes ?? pcm;
  const durationMs = (pcm.length / 2 / LIVE_SAMPLE_RATE) * 1000;
  const frames = Math.max(1, Math.ceil(durationMs / frameMs));
  const frameBytes = Math.ceil(payload.length / frames);
  const ws = new WebSocket(base.replace(/^http/, "ws") + LIVE_PATH);
  const received: Received[] = [];
  let t0 = 0;
  let stopAt = -1;
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", format: "s16le", language: "en", ...options.start })));
    ws.on("message", (data) => {
      const message = JSON.parse(String(data)) as LiveServerMessage;
      received.push({ message, at: t0 ? performance.now() - t0 : 0 });
      if (message.type === "ready") sendFrames();
    });
    ws.on("close", (code, reason) => resolve({ received, closeCode: code, closeReason: reason.toString(), stopAt }));

    function sendFrames() {
      t0 = performance.now();
      let i = 0;
      const next = () => {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (options.stallAfterMs !== undefined && i * frameMs >= options.stallAfterMs) return;
        if (i >= frames) {
          stopAt = performance.now() - t0;
          return ws.send(JSON.stringify({ type: "stop" }));
        }
        ws.send(payload.subarray(i * frameBytes, (i + 1) * frameBytes));
        i++;
        setTimeout(next, Math.max(0, t0 + i * frameMs * pace - performance.now()));
      };
      next();
    }
  });
}

export const finalsOf = (run: LiveRun) => run.received.map((r) => r.message).filter((m) => m.type === "final");
export const textOf = (run: LiveRun) => finalsOf(run).map((m) => m.text).join(" ");
