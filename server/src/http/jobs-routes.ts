import type { TemplatedApp } from "uWebSockets.js";
import { JOB_ID_PATTERN, TRANSCRIPT_FORMATS, type TranscriptFormat } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { Job } from "../jobs/job.ts";
import type { JobService } from "../jobs/service.ts";
import { CONTENT_TYPES, renderTranscript } from "../transcript/formats.ts";
import { streamJobEvents, type SseOptions } from "./sse.ts";
import { Reply } from "./respond.ts";
import { createJobHandler, type UploadDeps } from "./upload.ts";

/** Validates the id before any lookup; answers 400/404 itself and returns null then. */
function findJob(jobs: JobService, id: string | undefined, reply: Reply): Job | null {
  if (!id || !JOB_ID_PATTERN.test(id)) {
    reply.error("invalid_job_id", "Job ids are UUIDs as returned by POST /api/jobs.");
    return null;
  }
  const job = jobs.get(id);
  if (!job) reply.error("not_found", "No such job (it may have expired).");
  return job ?? null;
}

export function mountJobRoutes(app: TemplatedApp, jobs: JobService, hub: EventHub, upload: UploadDeps, sse: SseOptions): void {
  app.post("/api/jobs", createJobHandler(upload));

  app.get("/api/jobs/:id", (res, req) => {
    const reply = new Reply(res);
    const job = findJob(jobs, req.getParameter(0), reply);
    if (job) reply.json(200, job.snapshot());
  });

  app.del("/api/jobs/:id", (res, req) => {
    const reply = new Reply(res);
    const job = findJob(jobs, req.getParameter(0), reply);
    if (!job) return;
    if (!jobs.cancel(job)) return reply.error("job_finished", `The job already ended (${job.status}).`);
    reply.json(200, job.snapshot());
  });

  app.get("/api/jobs/:id/transcript", (res, req) => {
    const reply = new Reply(res);
    const format = (req.getQuery("format") ?? "txt") as TranscriptFormat;
    const job = findJob(jobs, req.getParameter(0), reply);
    if (!job) return;
    if (!TRANSCRIPT_FORMATS.includes(format)) {
      return reply.error("invalid_option", `format must be one of ${TRANSCRIPT_FORMATS.join(", ")}.`);
    }
    reply.send(200, renderTranscript(job.snapshot(), format), {
      "Content-Type": CONTENT_TYPES[format],
      "Content-Disposition": `inline; filename="transcript-${job.id}.${format}"`,
      "Cache-Control": "no-store",
      "X-Job-Status": job.status,
    });
  });

  app.get("/api/jobs/:id/events", (res, req) => {
    const since = parseSince(req.getHeader("last-event-id") || req.getQuery("lastEventId") || "0");
    const reply = new Reply(res);
    const job = findJob(jobs, req.getParameter(0), reply);
    if (!job) return;
    if (since === null) return reply.error("bad_request", "Last-Event-ID must be a non-negative integer.");
    streamJobEvents(reply, job, since, hub, sse);
  });
}

function parseSince(raw: string): number | null {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : null;
}
