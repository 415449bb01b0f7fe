import type { ErrorCode } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { JobService } from "../jobs/service.ts";
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

/**
 * Counts job outcomes from the event hub (no hooks in the pipeline) and reads the queue and
 * pool gauges from the job service at scrape time.
 */
export function observeServer(hub: EventHub, jobs: JobService): MetricsScrape {
  onJobEnd(hub, jobs, (outcome) => {
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
