import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { JOB_ID_PATTERN, STORE_UNAVAILABLE, TRANSCRIPT_FORMATS, type TranscriptFormat } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { JobBackend, OpenJob } from "../jobs/backend.ts";
import { CONTENT_TYPES, renderTranscript } from "../transcript/formats.ts";
import { streamJobEvents, type SseOptions } from "./sse.ts";
import { Reply } from "./respond.ts";
import { createJobHandler, type UploadDeps } from "./upload.ts";

/**
 * Validates the id, then looks the job up (in Redis mode on whichever replica holds it); answers
 * 400/404/503 itself and returns null then, or when the client left during the lookup.
 */
export async function findJob(jobs: JobBackend, id: string | undefined, reply: Reply): Promise<OpenJob | null> {
  if (!id || !JOB_ID_PATTERN.test(id)) {
    reply.error("invalid_job_id", "Job ids are UUIDs as returned by POST /api/jobs.");
    return null;
  }
  let found: OpenJob | null;
  try {
    found = await jobs.open(id);
  } catch {
    storeUnavailable(reply);
    return null;
  }
  if (!found) reply.error("not_found", "No such job (it may have expired).");
  else if (!reply.open) found.release();
  return reply.open ? found : null;
}

/** The reason is in the server's log (Redis mode: the connection's own warnings). */
const storeUnavailable = (reply: Reply) => reply.error("store_unavailable", STORE_UNAVAILABLE, { "Retry-After": "2" });

/** Answers from a job that is released right after. */
function withJob(jobs: JobBackend, answer: (found: OpenJob["job"], reply: Reply, query: (k: string) => string | undefined) => void) {
  return (res: HttpResponse, req: HttpRequest) => {
    const reply = new Reply(res);
    const query = new URLSearchParams(req.getQuery() ?? "");
    void findJob(jobs, req.getParameter(0), reply).then((found) => {
      if (!found) return;
      try {
        answer(found.job, reply, (k) => query.get(k) ?? undefined);
      } finally {
        found.release();
      }
    });
  };
}

export function mountJobRoutes(app: TemplatedApp, jobs: JobBackend, hub: EventHub, upload: UploadDeps, sse: SseOptions): void {
  app.post("/api/jobs", createJobHandler(upload));

  app.get("/api/jobs/:id", withJob(jobs, (job, reply) => reply.json(200, job.snapshot())));

  app.del("/api/jobs/:id", (res, req) => {
    const reply = new Reply(res);
    const id = req.getParameter(0);
    if (!id || !JOB_ID_PATTERN.test(id)) return reply.error("invalid_job_id", "Job ids are UUIDs as returned by POST /api/jobs.");
    jobs.cancel(id).then(
      (outcome) => {
        if (!outcome) return reply.error("not_found", "No such job (it may have expired).");
        if ("ended" in outcome) return reply.error("job_finished", `The job already ended (${outcome.ended}).`);
        reply.json(200, outcome.cancelled);
      },
      () => storeUnavailable(reply),
    );
  });

  app.get(
    "/api/jobs/:id/transcript",
    withJob(jobs, (job, reply, query) => {
      const format = (query("format") ?? "txt") as TranscriptFormat;
      if (!TRANSCRIPT_FORMATS.includes(format)) {
        return reply.error("invalid_option", `format must be one of ${TRANSCRIPT_FORMATS.join(", ")}.`);
      }
      reply.send(200, renderTranscript(job.snapshot(), format), {
        "Content-Type": CONTENT_TYPES[format],
        "Content-Disposition": `inline; filename="transcript-${job.id}.${format}"`,
        "Cache-Control": "no-store",
        "X-Job-Status": job.status,
      });
    }),
  );

  app.get("/api/jobs/:id/events", (res, req) => {
    const since = parseSince(req.getHeader("last-event-id") || req.getQuery("lastEventId") || "0");
    const reply = new Reply(res);
    if (since === null) {
      // Checked after the id, as before: a bad id is the first thing a client must hear about.
      const id = req.getParameter(0);
      if (!id || !JOB_ID_PATTERN.test(id)) return reply.error("invalid_job_id", "Job ids are UUIDs as returned by POST /api/jobs.");
      return reply.error("bad_request", "Last-Event-ID must be a non-negative integer.");
    }
    void findJob(jobs, req.getParameter(0), reply).then((found) => {
      if (found) streamJobEvents(reply, found, since, hub, sse);
    });
  });
}

function parseSince(raw: string): number | null {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : null;
}
