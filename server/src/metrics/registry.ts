import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { TERMINAL_STATUSES } from "@whisperrr/shared";

/**
 * The process's Prometheus registry and every metric it exposes. The metrics are module
 * singletons (one server per process) so transports and the live-session route can count
 * without an object being threaded through to them.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const registers = [registry];

export const jobsEnded = new Counter({
  name: "whisperrr_jobs_total",
  help: "Jobs that reached a final status",
  labelNames: ["status"] as const,
  registers,
});

export const jobFailures = new Counter({
  name: "whisperrr_job_failures_total",
  help: "Failed jobs by error code",
  labelNames: ["code"] as const,
  registers,
});

export const decodeFailures = new Counter({
  name: "whisperrr_decode_failures_total",
  help: "Jobs whose audio ffmpeg could not decode (decode_failed, decode_timeout, no_audio_stream)",
  labelNames: ["code"] as const,
  registers,
});

export const audioSeconds = new Counter({
  name: "whisperrr_audio_seconds_total",
  help: "Seconds of audio transcribed (including the transcribed part of jobs that did not complete)",
  registers,
});

export const realTimeFactor = new Histogram({
  name: "whisperrr_real_time_factor",
  help: "Whisper wall time divided by audio duration, per completed job (below 1 is faster than real time)",
  buckets: [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10],
  registers,
});

export const queueDepth = new Gauge({ name: "whisperrr_queue_depth", help: "Jobs waiting for a model context", registers });

export const runningJobs = new Gauge({ name: "whisperrr_jobs_running", help: "Jobs holding a transcription slot", registers });

export const modelContexts = new Gauge({
  name: "whisperrr_model_contexts",
  help: "Loaded whisper contexts by state (busy: transcribing a window now)",
  labelNames: ["state"] as const,
  registers,
});

export const connections = new Gauge({
  name: "whisperrr_connections",
  help: "Open event connections by transport",
  labelNames: ["transport"] as const,
  registers,
});

export const liveSessions = new Gauge({ name: "whisperrr_live_sessions", help: "Live microphone sessions open now", registers });

export const fanoutLag = new Histogram({
  name: "whisperrr_event_fanout_lag_seconds",
  help: "Time from an event's emission (its `at`) to the server writing it to a live subscriber",
  labelNames: ["transport"] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  registers,
});

// Series exist from the start, so a rate() over the first job is not lost.
for (const status of TERMINAL_STATUSES) jobsEnded.inc({ status }, 0);
for (const state of ["busy", "idle"]) modelContexts.set({ state }, 0);
for (const transport of ["ws", "sse"]) connections.set({ transport }, 0);
