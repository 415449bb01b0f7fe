import { pino, type Logger } from "pino";
import type { SegmentEvent } from "@whisperrr/shared";
import type { LogLevel } from "./config.ts";
import type { EventHub } from "./events/hub.ts";
import type { JobBackend } from "./jobs/backend.ts";
import { onJobEnd } from "./metrics/outcome.ts";

export type { Logger };

/**
 * Field names every log line uses for the same facts, so one query finds them all:
 * `jobId`, `stage` (queued, upload, decode, transcribe, done), `status` (a job's final status),
 * `code` (a stable error code from shared/src/errors.ts), durations as `*Ms`, audio as `*Seconds`.
 */
export const CONTENT_FIELDS = ["text", "prompt", "transcript", "segments", "*.text", "*.prompt", "*.transcript", "*.segments"];
const REDACTED = "[redacted: LOG_TRANSCRIPTS=true logs it]";

/**
 * JSON lines for machines; colourised lines when a person runs `npm start` in a terminal.
 * What people said stays out of the logs (any field that could hold it is redacted) unless
 * `transcripts` is set for debugging.
 */
export function createLogger(level: LogLevel, transcripts = false): Logger {
  const pretty = process.stdout.isTTY && process.env.NODE_ENV !== "production";
  return pino({
    level,
    base: { service: "whisperrr" },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(transcripts ? {} : { redact: { paths: CONTENT_FIELDS, censor: REDACTED } }),
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss.l", ignore: "pid,hostname,service" } } } : {}),
  });
}

/**
 * One line per job when it ends, with its durations and error code; with `transcripts`, one
 * line per segment with its text as well.
 */
export function logJobs(hub: EventHub, jobs: JobBackend, log: Logger, transcripts: boolean): void {
  onJobEnd(jobs, (outcome) => {
    const { status } = outcome;
    log[status === "failed" ? "warn" : "info"]({ ...outcome, stage: "done" }, `job ${status.replace("_", " ")}`);
  });
  if (!transcripts) return;
  hub.addSink((jobId, event) => {
    if (event.type !== "segment") return;
    const { seq, start, end, text } = JSON.parse(event.json) as SegmentEvent;
    log.info({ jobId, stage: "transcribe", seq, start, end, text }, "segment");
  });
}
