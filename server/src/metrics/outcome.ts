import { isTerminalEvent, type ErrorCode, type JobStatus } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { Job } from "../jobs/job.ts";
import type { JobService } from "../jobs/service.ts";

/** What an ended job cost, for metrics and the one log line every job gets when it ends. */
export interface JobOutcome {
  jobId: string;
  status: JobStatus;
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
    status: job.status,
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

/** Calls `handler` once per job of the service, when its terminal event is published. */
export function onJobEnd(hub: EventHub, jobs: JobService, handler: (outcome: JobOutcome) => void): void {
  hub.addSink((jobId, event) => {
    if (!isTerminalEvent(event)) return;
    const job = jobs.get(jobId);
    if (job?.ended) handler(outcomeOf(job));
  });
}

const round = (n: number) => Math.round(n * 1000) / 1000;
