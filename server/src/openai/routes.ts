import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { STORE_UNAVAILABLE, type Task } from "@whisperrr/shared";
import type { EventHub } from "../events/hub.ts";
import type { JobBackend, JobHandle } from "../jobs/backend.ts";
import { Reply } from "../http/respond.ts";
import { receiveUpload, type UploadDeps, type UploadProtocol } from "../http/upload.ts";
import { sendOpenAIError } from "./errors.ts";
import { followJob } from "./follow.ts";
import { endingFailure } from "./outcome.ts";
import { jobOptionsParser, modelIds, parseOpenAIRequest, type OpenAIRequest } from "./request.ts";
import { renderResponse } from "./responses.ts";
import { streamTranscript } from "./stream.ts";

export interface OpenAIDeps {
  jobs: JobBackend;
  hub: EventHub;
  upload: UploadDeps;
  /** Name of the loaded model; null while it loads. */
  model: () => string | null;
}

/**
 * OpenAI's audio API over the job engine: each request is one job created through the same
 * upload path as `POST /api/jobs` (same queue, limits and events), answered when it ends or
 * streamed as its segments arrive.
 */
export function mountOpenAI(app: TemplatedApp, deps: OpenAIDeps): void {
  app.post("/v1/audio/transcriptions", audioHandler("transcribe", deps));
  app.post("/v1/audio/translations", audioHandler("translate", deps));
  const created = Math.floor(Date.now() / 1000);
  const describe = (id: string) => ({ id, object: "model", created, owned_by: "whisperrr" });
  app.get("/v1/models", (res) => {
    new Reply(res).json(200, { object: "list", data: modelIds(deps.model()).map(describe) });
  });
  app.get("/v1/models/:id", (res, req) => {
    const id = decodeURIComponent(req.getParameter(0) ?? "");
    const reply = new Reply(res);
    if (modelIds(deps.model()).includes(id)) return reply.json(200, describe(id));
    sendOpenAIError(reply, { code: "not_found", message: `The model \`${id.slice(0, 60)}\` does not exist here. Available: ${modelIds(deps.model()).join(", ") || "none yet (loading)"}.`, param: "model" });
  });
  app.any("/v1/*", (res, req) => {
    sendOpenAIError(new Reply(res), { code: "not_found", message: `No route for ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}.` });
  });
}

function audioHandler(task: Task, deps: OpenAIDeps) {
  const protocol: UploadProtocol = { parseOptions: jobOptionsParser(task, deps.model), formOnly: true, sendError: sendOpenAIError };
  return (res: HttpResponse, req: HttpRequest): void => {
    const reply = new Reply(res);
    void receiveUpload(deps.upload, reply, req, protocol).then(async (upload) => {
      if (!upload) return;
      const { job: created, fields } = upload;
      const cancel = (reason: string) => void deps.jobs.cancel(created.id, reason).catch(() => undefined);
      const parsed = parseOpenAIRequest(task, deps.model(), (k) => fields.get(k) ?? undefined, (k) => fields.getAll(k));
      // The upload path validated these same fields; this only recovers the response options.
      if (!parsed.ok) {
        cancel(parsed.message);
        return sendOpenAIError(reply, parsed);
      }
      // In Redis mode the job may run on another replica: follow it where its events are.
      const found = await deps.jobs.open(created.id).catch(() => null);
      if (!found) return sendOpenAIError(reply, { code: "store_unavailable", message: STORE_UNAVAILABLE });
      if (!reply.open) {
        found.release();
        return cancel("The client closed the connection before the transcription finished.");
      }
      const { job } = found;
      const stop = (parsed.request.stream ? streamTranscript : answerWhenEnded)(reply, job, deps.hub, found.release, parsed.request);
      reply.onAbort(() => {
        stop();
        cancel("The client closed the connection before the transcription finished.");
      });
    });
  };
}

/** Waits for the job's terminal event, then answers in the requested format or OpenAI's error body. */
function answerWhenEnded(reply: Reply, job: JobHandle, hub: EventHub, onStop: () => void, request: OpenAIRequest): () => void {
  return followJob(job, hub, (event) => {
    if (event.type === "failed" || event.type === "cancelled") return sendOpenAIError(reply, endingFailure(event), { "X-Job-Id": job.id });
    if (event.type !== "completed") return;
    const { body, contentType } = renderResponse(job.snapshot(), request);
    reply.send(200, body, { "Content-Type": contentType, "Cache-Control": "no-store", "X-Job-Id": job.id });
  }, onStop);
}
