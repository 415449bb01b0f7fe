import type { ErrorCode } from "./errors.ts";
import type { JobProgress, Segment } from "./jobs.ts";

/**
 * Every event a job emits, identical on SSE and WebSocket.
 * `seq` starts at 1 and increases by 1 per event of a job, so a client that saw
 * seq N resumes with `Last-Event-ID: N` (SSE) or `since: N` (WebSocket).
 */
interface EventBase {
  jobId: string;
  seq: number;
  /** Server time the event was emitted, ISO 8601. */
  at: string;
}

export interface QueuedEvent extends EventBase {
  type: "queued";
  /** 1-based place in the queue; re-emitted as the queue moves. */
  position: number;
}

export interface StartedEvent extends EventBase {
  type: "started";
}

export interface ProgressEvent extends EventBase, JobProgress {
  type: "progress";
}

export interface SegmentEvent extends EventBase, Segment {
  type: "segment";
}

export interface CompletedEvent extends EventBase {
  type: "completed";
  text: string;
  language: string;
  durationSeconds: number;
  processingSeconds: number;
  segmentCount: number;
}

export interface FailedEvent extends EventBase {
  type: "failed";
  code: ErrorCode;
  message: string;
}

export interface CancelledEvent extends EventBase {
  type: "cancelled";
  reason: string;
}

/**
 * Redis mode: the replica running the job stopped (it died or shut down) and the job went back to
 * the queue; another replica resumes it after the last finished window. Segments already sent are
 * not sent again.
 */
export interface RetryingEvent extends EventBase {
  type: "retrying";
  /** 2 for the first retry. */
  attempt: number;
  reason: string;
}

export type JobEvent =
  | QueuedEvent
  | StartedEvent
  | ProgressEvent
  | SegmentEvent
  | CompletedEvent
  | FailedEvent
  | CancelledEvent
  | RetryingEvent;

export type JobEventType = JobEvent["type"];

export const JOB_EVENT_TYPES: readonly JobEventType[] = [
  "queued", "started", "progress", "segment", "completed", "failed", "cancelled", "retrying",
];

export const TERMINAL_EVENT_TYPES: readonly JobEventType[] = ["completed", "failed", "cancelled"];

/** An event before the log stamps it with jobId, seq and time. */
export type JobEventBody = JobEvent extends infer E
  ? E extends JobEvent
    ? Omit<E, keyof EventBase>
    : never
  : never;

export function isTerminalEvent(event: Pick<JobEvent, "type">): boolean {
  return TERMINAL_EVENT_TYPES.includes(event.type);
}
