import type { JobEvent, JobOptions, JobProgress, JobResult, Segment } from "@whisperrr/shared";
import type { ClientError } from "./api.ts";
import type { ConnectionState } from "./transport.ts";

export type Phase = "uploading" | "queued" | "running" | "completed" | "failed" | "cancelled";

/** Everything the page shows about one job of this session. */
export interface JobView {
  key: string;
  id: string | null;
  fileName: string;
  fileSize: number;
  /** Object URL of the local file, for the player. */
  mediaUrl: string;
  mediaKind: "audio" | "video";
  options: JobOptions;
  phase: Phase;
  upload: { loaded: number; total: number };
  queuePosition: number | null;
  progress: JobProgress | null;
  segments: Segment[];
  result: (JobResult & { segmentCount: number }) | null;
  error: ClientError | null;
  connection: ConnectionState;
  /** The live transport that last delivered events, kept after the job ends. */
  via: "websocket" | "sse" | null;
  /** Why the job went back to the queue (its server stopped; another one resumes it). */
  retryReason: string | null;
}

export const isFinished = (phase: Phase) => phase === "completed" || phase === "failed" || phase === "cancelled";

/** Applies one server event; the transport guarantees each arrives once and in order. */
export function applyEvent(job: JobView, event: JobEvent): void {
  switch (event.type) {
    case "queued":
      job.phase = "queued";
      job.queuePosition = event.position;
      return;
    case "started":
      job.phase = "running";
      job.queuePosition = null;
      return;
    case "progress": {
      const { stage, percent, processedSeconds, totalSeconds, etaSeconds } = event;
      job.progress = { stage, percent, processedSeconds, totalSeconds, etaSeconds };
      return;
    }
    case "segment":
      job.segments.push({ index: event.index, start: event.start, end: event.end, text: event.text });
      return;
    case "completed": {
      const { text, language, durationSeconds, processingSeconds, segmentCount } = event;
      job.phase = "completed";
      job.result = { text, language, durationSeconds, processingSeconds, segmentCount };
      if (job.progress) job.progress = { ...job.progress, percent: 100, etaSeconds: 0 };
      return;
    }
    case "failed":
      job.phase = "failed";
      job.error = { code: event.code, message: event.message };
      return;
    case "cancelled":
      job.phase = "cancelled";
      job.error = null;
      return;
    case "retrying":
      job.phase = "queued";
      job.queuePosition = null;
      job.retryReason = event.reason;
      return;
  }
}

/** The transcript as plain text, one segment per line. */
export function transcriptText(job: JobView): string {
  return job.segments.map((s) => s.text.trim()).join("\n");
}

/** Index of the segment playing at `time`, or -1. */
export function segmentAt(segments: readonly Segment[], time: number): number {
  return segments.findIndex((s) => time >= s.start && time < s.end);
}
