import type { ErrorCode } from "./errors.ts";

export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];

export const TASKS = ["transcribe", "translate"] as const;
export type Task = (typeof TASKS)[number];

/** Languages Whisper knows, by ISO 639-1 code (plus `auto` for detection). */
export const LANGUAGES = [
  "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
  "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
  "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
  "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
  "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
  "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha",
  "ba", "jw", "su", "yue",
] as const;
export type Language = (typeof LANGUAGES)[number] | "auto";

export interface JobOptions {
  language: Language;
  task: Task;
  /** Text that seeds the first window's prompt (names, spelling, style); later windows carry their predecessor's text. */
  prompt?: string;
  /** Sampling temperature of the first decoding attempt (whisper falls back to higher ones on failure); default 0. */
  temperature?: number;
  /** Adds `words` with their own timestamps to every segment (segments then arrive once per window). */
  wordTimestamps?: boolean;
}

/** The stages a job's audio moves through; they overlap (transcription starts while upload streams). */
export const STAGES = ["upload", "decode", "transcribe"] as const;
export type Stage = (typeof STAGES)[number];

export interface Segment {
  /** 0-based, contiguous within a job. */
  index: number;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  text: string;
  /** Only when the job asked for `wordTimestamps`: the words of `text`, times within the segment's. */
  words?: Word[];
}

export interface Word {
  word: string;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
}

export interface JobProgress {
  stage: Stage;
  /** Overall percent, 0-100, never decreases. */
  percent: number;
  /** Audio seconds transcribed so far. */
  processedSeconds: number;
  /** Audio duration; null until known. */
  totalSeconds: number | null;
  /** Estimated seconds until completion; null until it can be estimated. */
  etaSeconds: number | null;
}

export interface JobResult {
  text: string;
  language: string;
  durationSeconds: number;
  processingSeconds: number;
}

/** `GET /api/jobs/:id`. */
export interface JobSnapshot {
  id: string;
  status: JobStatus;
  options: JobOptions;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  queuePosition: number | null;
  progress: JobProgress;
  segments: Segment[];
  result: JobResult | null;
  error: { code: ErrorCode; message: string } | null;
  /** Sequence number of the newest event. */
  lastSeq: number;
  links: JobLinks;
}

export interface JobLinks {
  self: string;
  events: string;
  websocket: string;
  transcript: string;
}

/** `202` body of `POST /api/jobs`. */
export interface JobCreated {
  id: string;
  status: JobStatus;
  links: JobLinks;
}

export const TRANSCRIPT_FORMATS = ["txt", "json", "srt", "vtt"] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Job ids are UUID v4; anything else is rejected before any lookup. */
export const JOB_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function jobLinks(id: string): JobLinks {
  return {
    self: `/api/jobs/${id}`,
    events: `/api/jobs/${id}/events`,
    websocket: `/ws`,
    transcript: `/api/jobs/${id}/transcript`,
  };
}
