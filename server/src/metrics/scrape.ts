import type { ErrorCode } from "@whisperrr/shared";
import type { JobBackend } from "../jobs/backend.ts";
import { onJobEnd } from "./outcome.ts";
import {
  audioSeconds,
  decodeFailures,
  jobFailures,
  jobsEnded,
  modelContexts,
  queueDepth,
  realTimeFactor,
  registry,
  runningJobs,
} from "./registry.ts";

const DECODE_CODES: readonly ErrorCode[] = ["decode_failed", "decode_timeout", "no_audio_stream"];

export interface MetricsScrape {
  contentType: string;
  render(): Promise<string>;
}

/** Counts job outcomes as jobs end and reads the queue and pool gauges at scrape time. */
export function observeServer(jobs: JobBackend): MetricsScrape {
  onJobEnd(jobs, (outcome) => {
    jobsEnded.inc({ status: outcome.status });
    audioSeconds.inc(outcome.transcribedSeconds);
    if (outcome.status === "completed" && outcome.realTimeFactor !== null) realTimeFactor.observe(outcome.realTimeFactor);
    if (outcome.code) jobFailures.inc({ code: outcome.code });
    if (outcome.code && DECODE_CODES.includes(outcome.code)) decodeFailures.inc({ code: outcome.code });
  });
  return {
    contentType: registry.contentType,
    render: () => {
      const { size, busy } = jobs.contexts;
      queueDepth.set(jobs.queueDepth);
      runningJobs.set(jobs.runningCount);
      modelContexts.set({ state: "busy" }, busy);
      modelContexts.set({ state: "idle" }, size - busy);
      return registry.metrics();
    },
  };
}
