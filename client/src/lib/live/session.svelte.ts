import { LIVE_PATH, LIVE_SAMPLE_RATE, type Language, type LiveServerMessage, type Task } from "@whisperrr/shared";
import type { ClientError } from "$lib/api.ts";
import { apiKey } from "$lib/api-key.svelte.ts";
import { MicrophoneError, startCapture, toS16le, type Capture } from "./capture.ts";
import { applyMessage, emptyTranscript, type LiveTranscript } from "./transcript.ts";

export type LivePhase = "idle" | "starting" | "live" | "stopping" | "ended" | "error";

/** One microphone session at a time: capture → /ws/live → transcript. */
export class LiveSessionState {
  phase = $state<LivePhase>("idle");
  transcript = $state<LiveTranscript>(emptyTranscript());
  /** Peak input level of the last ~100 ms, 0..1. */
  level = $state(0);
  /** Seconds of microphone audio captured in this session. */
  seconds = $state(0);
  error = $state<ClientError | null>(null);
  /** Set when the microphone itself failed: shown with guidance rather than a server code. */
  micProblem = $state<{ reason: MicrophoneError["reason"]; message: string } | null>(null);
  private socket: WebSocket | null = null;
  private capture: Capture | null = null;

  async start(options: { language: Language; task: Task }): Promise<void> {
    if (this.phase === "starting" || this.phase === "live" || this.phase === "stopping") return;
    this.phase = "starting";
    this.transcript = emptyTranscript();
    this.seconds = 0;
    this.error = null;
    this.micProblem = null;
    const pending: ArrayBuffer[] = [];
    let ready = false;
    try {
      this.capture = await startCapture({
        level: (peak) => (this.level = peak),
        chunk: (samples) => {
          this.seconds += samples.length / LIVE_SAMPLE_RATE;
          const bytes = toS16le(samples);
          if (ready && this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
          else if (!ready) pending.push(bytes);
        },
      });
    } catch (err) {
      const mic = err instanceof MicrophoneError ? err : new MicrophoneError("unsupported", String(err));
      this.micProblem = { reason: mic.reason, message: mic.message };
      this.phase = "error";
      return;
    }
    this.connect(options, () => {
      ready = true;
      for (const bytes of pending.splice(0)) this.socket?.send(bytes);
      this.phase = "live";
    });
  }

  /** Stops the microphone; the server finishes the pending text and answers `ended`. */
  async stop(): Promise<void> {
    if (this.phase !== "live" && this.phase !== "starting") return;
    this.phase = "stopping";
    await this.releaseMicrophone();
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "stop" }));
    else this.phase = "ended";
  }

  private connect(options: { language: Language; task: Task }, onReady: () => void): void {
    const token = apiKey.value ? `?access_token=${encodeURIComponent(apiKey.value)}` : "";
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}${LIVE_PATH}${token}`);
    this.socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "start", format: "s16le", ...options }));
    ws.onmessage = (e: MessageEvent<string>) => {
      const m = JSON.parse(e.data) as LiveServerMessage;
      if (m.type === "ready") onReady();
      else if (m.type === "error") this.fail({ code: m.code, message: m.message });
      else {
        this.transcript = applyMessage(this.transcript, m);
        if (m.type === "ended") this.phase = "ended";
      }
    };
    ws.onclose = (e) => {
      this.socket = null;
      void this.releaseMicrophone();
      if (this.phase === "ended" || this.phase === "error") return;
      this.fail({ code: "connection_lost", message: `The connection to the server closed (${e.code}${e.reason ? `: ${e.reason}` : ""}). The text so far is kept.` });
    };
  }

  private fail(error: ClientError): void {
    this.error = error;
    this.phase = "error";
    void this.releaseMicrophone();
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close();
  }

  private async releaseMicrophone(): Promise<void> {
    const capture = this.capture;
    this.capture = null;
    this.level = 0;
    await capture?.stop();
  }
}
