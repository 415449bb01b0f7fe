import type { Writable } from "node:stream";
import type { ErrorCode, JobOptions, JobSnapshot, JobStatus } from "@whisperrr/shared";
import type { ReplayLog } from "../events/log.ts";
import type { Job } from "./job.ts";
import type { PipelineDeps } from "./pipeline.ts";

export interface Admission {
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}

/** What subscribers and routes need of a job, wherever it runs. */
export interface JobHandle {
  readonly id: string;
  readonly status: JobStatus;
  readonly ended: boolean;
  readonly events: ReplayLog;
  snapshot(): JobSnapshot;
}

/** A job looked up for a route or a subscriber; kept current until released. */
export interface OpenJob {
  job: JobHandle;
  release(): void;
}

export type CancelOutcome = { cancelled: JobSnapshot } | { ended: JobStatus } | null;

/**
 * The job engine behind every transport. Two implementations: in memory for one process
 * (jobs/service.ts) and in Redis for N replicas (cluster/service.ts).
 */
export interface JobBackend {
  readonly isReady: boolean;
  readonly readiness: { ready: boolean; reason: string | null };
  /** Jobs waiting for a model context (all replicas' in Redis mode). */
  readonly queueDepth: number;
  /** Jobs transcribing in this process. */
  readonly runningCount: number;
  readonly contexts: { size: number; busy: number };
  /** The loaded engine (model pool, ffmpeg), for live sessions; null until ready. */
  readonly engine: PipelineDeps | null;
  ready(deps: PipelineDeps): void;
  setNotReady(reason: string): void;
  /** Whether a new upload may start; checked before any of its body is read. */
  admission(): Admission | null;
  /**
   * Creates a queued job whose decoder is ready for the upload bytes. `optionsFinal` holds back
   * its first window until form fields sent after the file have amended the options.
   */
  create(options: JobOptions, uploadTotalBytes: number | null, optionsFinal?: Promise<void>): Promise<{ job: Job; input: Writable }>;
  /** null: no such job (or it expired). */
  open(id: string): Promise<OpenJob | null>;
  /** Cancels a queued job at once, a running one at its next window. */
  cancel(id: string, reason?: string): Promise<CancelOutcome>;
  /** `handler` sees every job that ends in this process (for logs and metrics). */
  onJobEnd(handler: (job: Job) => void): void;
  /** Removes expired jobs; returns how many. */
  sweep(): number;
  /** Stops admitting jobs and starting queued ones. */
  startDraining(): void;
  /** Lets running jobs finish for up to `graceMs`, then gives up what is left. */
  drain(graceMs: number): Promise<void>;
  close(): Promise<void>;
}
