import type { ErrorCode, JobStatus } from "@whisperrr/shared";
import type { JobBackend } from "../jobs/backend.ts";
import type { Job } from "../jobs/job.ts";

/** What an ended job cost, for metrics and the one log line every job gets when it ends. */
export interface JobOutcome {
  jobId: string;
  /** `handed_over`: this replica gave the job to another one (Redis mode). */
  status: JobStatus | "handed_over";
  code: ErrorCode | undefined;
  /** Decoded audio duration. */
  audioSeconds: number;
  transcribedSeconds: number;
  /** Time whisper spent on the job's windows. */
  whisperMs: number;
  /** Waiting for a slot (until it ended, for a job that never started). */
  queueMs: number;
  /** From the slot to the end; 0 for a job that never started. */
  runMs: number;
  totalMs: number;
  /** Whisper time / audio duration; null without audio. */
  realTimeFactor: number | null;
}

export function outcomeOf(job: Job): JobOutcome {
  const created = job.createdAt.getTime();
  const ended = job.endedAt?.getTime() ?? Date.now();
  const started = job.startedAt?.getTime() ?? ended;
  const { decodedSeconds, transcribedSeconds, transcribeWallSeconds } = job.facts;
  return {
    jobId: job.id,
    status: job.handedOver ? "handed_over" : job.status,
    code: job.error?.code,
    audioSeconds: round(decodedSeconds),
    transcribedSeconds: round(transcribedSeconds),
    whisperMs: Math.round(transcribeWallSeconds * 1000),
    queueMs: started - created,
    runMs: ended - started,
    totalMs: ended - created,
    realTimeFactor: decodedSeconds > 0 ? round(transcribeWallSeconds / decodedSeconds) : null,
  };
}

/** Calls `handler` once per job that ends in this process. */
export function onJobEnd(jobs: JobBackend, handler: (outcome: JobOutcome) => void): void {
  jobs.onJobEnd((job) => handler(outcomeOf(job)));
}

const round = (n: number) => Math.round(n * 1000) / 1000;
