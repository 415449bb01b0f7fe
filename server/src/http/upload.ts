import busboy from "busboy";
import { Transform, type Readable, type Writable } from "node:stream";
import { jobLinks, type ErrorCode, type JobCreated, type JobOptions } from "@whisperrr/shared";
import type { HttpRequest, HttpResponse } from "uWebSockets.js";
import type { Job } from "../jobs/job.ts";
import type { JobService } from "../jobs/service.ts";
import { bodyStream, UploadAbortedError } from "./body.ts";
import { parseJobOptions } from "./options.ts";
import { Reply } from "./respond.ts";

export interface UploadDeps {
  jobs: JobService;
  maxUploadBytes: number;
}

/** A failure that ends an upload with a stable code; `status` comes from the code. */
class UploadError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Counts body bytes into the job's facts and stops the upload the moment it exceeds the limit. */
function byteCounter(max: number, onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      onBytes(total);
      if (total > max) done(new UploadError("upload_too_large", `The upload is larger than the ${max / 1048576} MB limit (MAX_UPLOAD_MB).`));
      else done(null, chunk);
    },
  });
}

/** `POST /api/jobs`: raw body or multipart `file`, streamed into the decoder as it arrives. */
export function createJobHandler(deps: UploadDeps) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const reply = new Reply(res);
    const contentType = req.getHeader("content-type");
    const lengthHeader = req.getHeader("content-length");
    const query = new URLSearchParams(req.getQuery() ?? "");
    const declared = lengthHeader === "" ? null : Number(lengthHeader);
    const queryOptions = parseJobOptions((k) => query.get(k) ?? undefined);
    const rejection = earlyRejection(deps, declared, queryOptions);
    if (rejection) return rejectBeforeReading(reply, rejection, declared);
    const body = bodyStream(reply);
    const upload = /^multipart\/form-data/i.test(contentType)
      ? multipartUpload(deps, body, contentType, query, declared)
      : rawUpload(deps, body, (queryOptions as { options: JobOptions }).options, declared);
    upload.then(
      (job) => {
        job.facts.uploadDone = true;
        job.reportProgress();
        const created: JobCreated = { id: job.id, status: job.status, links: jobLinks(job.id) };
        reply.json(202, created, { Location: created.links.self });
      },
      (err: unknown) => {
        const failure = err instanceof UploadError ? err : err instanceof UploadAbortedError ? new UploadError("upload_aborted", err.message) : new UploadError("internal_error", "The upload could not be processed.");
        void discardRest(body).then((close) => reply.error(failure.code, failure.message, {}, close));
      },
    );
  };
}

/**
 * Bodies up to this size are read and discarded before an error answer, so every HTTP client
 * sees the status; larger ones get the answer at once and the connection is closed.
 */
const DRAIN_LIMIT = 16 * 1024 * 1024;
const ADMISSION_CODES: ErrorCode[] = ["queue_full", "not_ready", "shutting_down"];

/** Admission refusals answer before any body is read (that is their point); others drain small bodies first. */
function rejectBeforeReading(reply: Reply, rejection: Rejection, declared: number | null): void {
  if (ADMISSION_CODES.includes(rejection.code) || (declared !== null && declared > DRAIN_LIMIT)) {
    return reply.error(rejection.code, rejection.message, rejection.headers, true);
  }
  let discarded = 0;
  reply.res.onData((chunk, isLast) => {
    discarded += chunk.byteLength;
    if (isLast || discarded > DRAIN_LIMIT) reply.error(rejection.code, rejection.message, rejection.headers, !isLast);
  });
}

/** Reads what is left of a failed upload; resolves true when the connection must be closed instead. */
function discardRest(body: Readable): Promise<boolean> {
  if (body.readableEnded || body.destroyed) return Promise.resolve(body.destroyed);
  return new Promise((resolve) => {
    let discarded = 0;
    body.unpipe();
    body.on("data", (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > DRAIN_LIMIT) resolve(true);
    });
    body.on("end", () => resolve(false));
    body.on("error", () => resolve(true));
    body.resume();
  });
}

interface Rejection {
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
}

function earlyRejection(deps: UploadDeps, declared: number | null, options: ReturnType<typeof parseJobOptions>): Rejection | null {
  if (declared !== null && !Number.isFinite(declared)) return { code: "bad_request", message: "Invalid Content-Length.", headers: {} };
  if (!options.ok) return { code: "invalid_option", message: options.message, headers: {} };
  const admission = deps.jobs.admission();
  if (admission) return { code: admission.code, message: admission.message, headers: { "Retry-After": String(admission.retryAfterSeconds ?? 5) } };
  if (declared !== null && declared > deps.maxUploadBytes) {
    return { code: "upload_too_large", message: `The upload is larger than the ${deps.maxUploadBytes / 1048576} MB limit (MAX_UPLOAD_MB).`, headers: {} };
  }
  if (declared === 0) return { code: "empty_upload", message: "The request body is empty: send an audio or video file.", headers: {} };
  return null;
}

/** Pipes `source` into the job's decoder; any failure fails the job with its code and rejects. */
function feed(job: Job, source: Readable, counter: Transform, input: Writable): Promise<Job> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      const failure = err instanceof UploadError ? err : new UploadError("upload_aborted", "The client closed the connection before the upload finished.");
      job.fail(failure.code, failure.message);
      reject(failure);
    };
    source.on("error", fail);
    counter.on("error", fail);
    // The job can end while bytes still arrive (decode failed, too long, cancelled): answer with its reason.
    input.on("close", () => {
      if (settled || !job.ended) return;
      fail(new UploadError(job.error?.code ?? "upload_aborted", job.error?.message ?? `The job was ${job.status} before the upload finished.`));
    });
    input.on("finish", () => {
      if (job.facts.uploadedBytes === 0) return fail(new UploadError("empty_upload", "The request body is empty: send an audio or video file."));
      if (settled) return;
      settled = true;
      resolve(job);
    });
    source.pipe(counter).pipe(input);
  });
}

async function rawUpload(deps: UploadDeps, body: Readable, options: JobOptions, declared: number | null): Promise<Job> {
  body.pause();
  const { job, input } = await deps.jobs.create(options, declared);
  const counter = byteCounter(deps.maxUploadBytes, (n) => {
    job.facts.uploadedBytes = n;
    job.reportProgress();
  });
  return feed(job, body, counter, input);
}

/**
 * Multipart: form fields that come before the file part may set `language` and `task`
 * (browsers send parts in form order); the job starts when the `file` part begins and is
 * accepted once the whole form has been read.
 */
function multipartUpload(deps: UploadDeps, body: Readable, contentType: string, query: URLSearchParams, declared: number | null): Promise<Job> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { "content-type": contentType }, limits: { fields: 20, fieldSize: 1024, parts: 30 } });
    } catch {
      reject(new UploadError("malformed_multipart", "The multipart body has no valid boundary."));
      return;
    }
    const fields = new Map<string, string>();
    let job: Job | null = null;
    let fed: Promise<Job> | null = null;
    let total = 0;
    const counter = byteCounter(deps.maxUploadBytes, (n) => {
      total = n;
      if (job) job.facts.uploadedBytes = n;
    });
    const fail = (err: unknown) => {
      const failure = err instanceof UploadError ? err : new UploadError("upload_aborted", "The client closed the connection before the upload finished.");
      job?.fail(failure.code, failure.message);
      reject(failure);
    };
    parser.on("field", (name, value) => fields.set(name, value));
    parser.on("file", (name, file) => {
      if (name !== "file") return void file.resume();
      if (fed) return fail(new UploadError("multiple_files", "Send one file per job (one `file` field)."));
      const options = parseJobOptions((k) => fields.get(k) ?? query.get(k) ?? undefined);
      if (!options.ok) return fail(new UploadError("invalid_option", options.message));
      file.pause();
      fed = deps.jobs.create(options.options, declared).then(({ job: created, input }) => {
        job = created;
        job.facts.uploadedBytes = total;
        return feed(job, file, byteCounter(Number.MAX_SAFE_INTEGER, () => job?.reportProgress()), input);
      });
      fed.catch(fail);
    });
    parser.on("close", () => {
      if (!fed) return fail(new UploadError("missing_file", "The form has no `file` field."));
      fed.then(resolve, fail);
    });
    parser.on("error", (err: Error) => fail(new UploadError("malformed_multipart", `Malformed multipart body: ${err.message}`)));
    counter.on("error", fail);
    body.on("error", fail);
    body.pipe(counter).pipe(parser);
  });
}
