import type { ErrorCode } from "./errors.ts";
import type { Language, Task } from "./jobs.ts";

/**
 * Live transcription over WebSocket `/ws/live`: the client sends one `start` message, then binary
 * audio frames of any size, then `stop`. The server answers `ready`, then `partial` and `final`
 * messages as it transcribes, and `ended` once everything sent before `stop` is final.
 */
export const LIVE_PATH = "/ws/live";

/**
 * `s16le` / `f32le`: raw 16 kHz mono samples, little-endian (frames may split samples).
 * `webm`: a compressed stream (e.g. MediaRecorder's webm/opus, or ogg) decoded by ffmpeg.
 */
export const LIVE_AUDIO_FORMATS = ["s16le", "f32le", "webm"] as const;
export type LiveAudioFormat = (typeof LIVE_AUDIO_FORMATS)[number];

/** Raw formats must be sent at this rate, mono. */
export const LIVE_SAMPLE_RATE = 16_000;

export interface LiveStartMessage {
  type: "start";
  format: LiveAudioFormat;
  /** ISO 639-1 code or `auto` (default): detected on the first speech, then kept. */
  language?: Language;
  /** Default `transcribe`; `translate` gives English. */
  task?: Task;
}

export interface LiveStopMessage {
  type: "stop";
}

export type LiveClientMessage = LiveStartMessage | LiveStopMessage;

export interface LiveReadyMessage {
  type: "ready";
  sessionId: string;
  format: LiveAudioFormat;
  sampleRate: number;
}

/** The current guess for the audio not yet final; each partial replaces the previous one. */
export interface LivePartialMessage {
  type: "partial";
  /** Empty when everything heard so far is final. */
  text: string;
  /** Seconds of session audio (from the first sample received). */
  start: number;
  end: number;
}

/** Committed text: never revised; indexes contiguous from 0, times increasing. */
export interface LiveFinalMessage {
  type: "final";
  index: number;
  text: string;
  start: number;
  end: number;
}

export interface LiveErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
}

/** Sent after `stop` once every final is out; the server then closes with 1000. */
export interface LiveEndedMessage {
  type: "ended";
  /** All finals joined with spaces. */
  text: string;
  finalCount: number;
  /** Session audio received, in seconds. */
  durationSeconds: number;
  language: string | null;
}

export type LiveServerMessage = LiveReadyMessage | LivePartialMessage | LiveFinalMessage | LiveErrorMessage | LiveEndedMessage;

/** Close codes of `/ws/live` besides 1000 (normal, after `ended`). */
export const LIVE_CLOSE = {
  /** Bad message or audio before `start`. */
  protocolError: 1008,
  internalError: 1011,
  /** MAX_LIVE_SESSIONS reached, or the server is not ready: retry later. */
  tryAgainLater: 1013,
  /** Nothing received for LIVE_IDLE_TIMEOUT_SECONDS. */
  idleTimeout: 4408,
  /** Audio arrived faster than it can be transcribed and the buffer filled up. */
  overflow: 4429,
} as const;
