import {
  jobLinks,
  type ErrorCode,
  type JobOptions,
  type JobProgress,
  type JobResult,
  type JobSnapshot,
  type JobStatus,
  type Segment,
  type Word,
} from "@whisperrr/shared";
import type { EventSink } from "../events/log.ts";
import { computeProgress, type PipelineFacts } from "./progress.ts";

/** Progress events are rate-limited so a fast job does not flood its subscribers. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * One transcription job as the replica running it sees it: its state, where its events go, and
 * the facts its progress is derived from.
 */
export class Job<Events extends EventSink = EventSink> {
  status: JobStatus = "queued";
  startedAt: Date | null = null;
  endedAt: Date | null = null;
  queuePosition: number | null = null;
  readonly segments: Segment[] = [];
  result: JobResult | null = null;
  error: { code: ErrorCode; message: string } | null = null;
  language: string | null = null;
  readonly facts: PipelineFacts = {
    uploadDone: false,
    uploadedBytes: 0,
    uploadTotalBytes: null,
    decodeDone: false,
    decodedSeconds: 0,
    headerSeconds: null,
    transcribedSeconds: 0,
    transcribeWallSeconds: 0,
  };
  progress: JobProgress = { stage: "upload", percent: 0, processedSeconds: 0, totalSeconds: null, etaSeconds: null };
  private lastProgressAt = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  /** Called once when the job reaches a terminal state (frees decoder, spool, context). */
  private cleanups: (() => void)[] = [];

  /** Set when this replica gave the job up to another one: it ended here without a terminal event. */
  handedOver = false;

  constructor(
    readonly id: string,
    readonly options: JobOptions,
    readonly events: Events,
    readonly createdAt = new Date(),
  ) {}

  get ended(): boolean {
    return this.endedAt !== null;
  }

  /** Another replica ended the job (Redis mode: cancelled, or its upload failed there): it stops here too. */
  endedElsewhere(status: JobStatus): void {
    if (!this.ended) this.finish(status);
  }

  /** Stops the job here (between windows) without ending it for its subscribers: another replica resumes it. */
  handOver(): void {
    if (this.ended) return;
    this.handedOver = true;
    this.finish(this.status);
  }

  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  setQueuePosition(position: number): void {
    if (this.ended || this.queuePosition === position) return;
    this.queuePosition = position;
    this.events.append({ type: "queued", position });
  }

  start(): void {
    this.status = "running";
    this.queuePosition = null;
    this.startedAt = new Date();
    this.events.append({ type: "started" });
  }

  addSegment(start: number, end: number, text: string, words?: Word[]): void {
    if (this.ended) return;
    // Whisper's timestamps can overlap a little across segments; keep the timeline monotonic.
    start = Math.max(start, this.segments.at(-1)?.end ?? 0);
    end = Math.max(end, start);
    const segment: Segment = { index: this.segments.length, start, end, text, ...(words ? { words: withinSegment(words, start, end) } : {}) };
    this.segments.push(segment);
    this.events.append({ type: "segment", ...segment });
  }

  /** Emits a progress event if something visible changed, at most every PROGRESS_INTERVAL_MS. */
  reportProgress(): void {
    if (this.ended || this.progressTimer) return;
    const wait = this.lastProgressAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.progressTimer = setTimeout(() => {
        this.progressTimer = null;
        this.reportProgress();
      }, wait);
      return;
    }
    const next = computeProgress(this.facts, this.progress);
    if (JSON.stringify(next) === JSON.stringify(this.progress)) return;
    this.progress = next;
    this.lastProgressAt = Date.now();
    this.events.append({ type: "progress", ...next });
  }

  complete(): void {
    if (this.ended) return;
    const processingSeconds = this.startedAt ? (Date.now() - this.startedAt.getTime()) / 1000 : 0;
    this.progress = { ...computeProgress(this.facts, this.progress), stage: "transcribe", percent: 100, etaSeconds: 0 };
    this.events.append({ type: "progress", ...this.progress });
    const text = this.segments.map((s) => s.text).join(" ");
    this.result = {
      text,
      language: this.language ?? (this.options.language === "auto" ? "unknown" : this.options.language),
      durationSeconds: Math.round(this.facts.decodedSeconds * 1000) / 1000,
      processingSeconds: Math.round(processingSeconds * 1000) / 1000,
    };
    this.finish("completed");
    this.events.append({ type: "completed", ...this.result, segmentCount: this.segments.length });
  }

  fail(code: ErrorCode, message: string): void {
    if (this.ended) return;
    this.error = { code, message };
    this.finish("failed");
    this.events.append({ type: "failed", code, message });
  }

  cancel(reason: string): void {
    if (this.ended) return;
    this.finish("cancelled");
    this.events.append({ type: "cancelled", reason });
  }

  snapshot(): JobSnapshot {
    return {
      id: this.id,
      status: this.status,
      options: this.options,
      createdAt: this.createdAt.toISOString(),
      startedAt: this.startedAt?.toISOString() ?? null,
      endedAt: this.endedAt?.toISOString() ?? null,
      queuePosition: this.queuePosition,
      progress: this.progress,
      segments: this.segments,
      result: this.result,
      error: this.error,
      lastSeq: this.events.lastSeq,
      links: jobLinks(this.id),
    };
  }

  private finish(status: JobStatus): void {
    this.status = status;
    this.endedAt = new Date();
    this.queuePosition = null;
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const cleanup of cleanups) cleanup();
  }
}

/** Token timestamps can stray a little outside their segment and overlap; clamp them into it, in order. */
function withinSegment(words: Word[], start: number, end: number): Word[] {
  let previous = start;
  return words.map((w) => {
    const wordStart = Math.min(end, Math.max(previous, w.start));
    previous = Math.min(end, Math.max(wordStart, w.end));
    return { word: w.word, start: wordStart, end: previous };
  });
}
