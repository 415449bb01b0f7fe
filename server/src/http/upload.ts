import busboy from "busboy";
import { Transform, type Readable, type Writable } from "node:stream";
import { jobLinks, type ErrorCode, type JobCreated, type JobOptions } from "@whisperrr/shared";
import type { HttpRequest, HttpResponse } from "uWebSockets.js";
import type { Job } from "../jobs/job.ts";
import type { JobBackend } from "../jobs/backend.ts";
import { bodyStream, UploadAbortedError } from "./body.ts";
import { parseJobOptions, type OptionsResult } from "./options.ts";
import { Reply } from "./respond.ts";

export interface UploadDeps {
  jobs: JobBackend;
  maxUploadBytes: number;
}

/** Why an upload was refused; `param` names the form field at fault, when one is. */
export interface UploadFailure {
  code: ErrorCode;
  message: string;
  param?: string;
}

export type ParsedOptions = OptionsResult | ({ ok: false } & Partial<UploadFailure> & { message: string });

/** What differs between the endpoints that create jobs from uploads: where options come from, how errors look. */
export interface UploadProtocol {
  /**
   * `getAll` for fields sent more than once, such as `timestamp_granularities[]`. `complete` is
   * false when a form's file part begins (later fields may still come) and true once all is read.
   */
  parseOptions(get: (key: string) => string | undefined, getAll: (key: string) => string[], complete: boolean): ParsedOptions;
  /** Options only from multipart form fields: raw bodies and the query string are not read. */
  formOnly: boolean;
  sendError(reply: Reply, failure: UploadFailure, headers: Record<string, string>, closeConnection: boolean): void;
}

/** `POST /api/jobs`: options from the query or the form, the server's own error body. */
export const NATIVE_UPLOAD: UploadProtocol = {
  parseOptions: parseJobOptions,
  formOnly: false,
  sendError: (reply, failure, headers, close) => reply.error(failure.code, failure.message, headers, close),
};

/** The job, once its whole body is read; `fields` are the form's fields (none for a raw body). */
export interface ReceivedUpload {
  job: Job;
  fields: URLSearchParams;
}

/** A failure that ends an upload with a stable code; `status` comes from the code. */
class UploadError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

function optionsError(result: { ok: false; message: string } & Partial<UploadFailure>): UploadError {
  return new UploadError(result.code ?? "invalid_option", result.message, result.param);
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
    void receiveUpload(deps, reply, req, NATIVE_UPLOAD).then((upload) => {
      if (!upload) return;
      const created: JobCreated = { id: upload.job.id, status: upload.job.status, links: jobLinks(upload.job.id) };
      reply.json(202, created, { Location: created.links.self });
    });
  };
}

/**
 * Streams an upload into a new job. Resolves once the whole body is read, or with null when the
 * upload was refused or failed (the error is then already answered through `protocol`).
 * Reads the request synchronously, so call it from the route handler itself.
 */
export function receiveUpload(deps: UploadDeps, reply: Reply, req: HttpRequest, protocol: UploadProtocol): Promise<ReceivedUpload | null> {
  const contentType = req.getHeader("content-type");
  const lengthHeader = req.getHeader("content-length");
  const query = new URLSearchParams(protocol.formOnly ? "" : (req.getQuery() ?? ""));
  const declared = lengthHeader === "" ? null : Number(lengthHeader);
  const multipart = /^multipart\/form-data/i.test(contentType);
  const queryOptions = protocol.parseOptions((k) => query.get(k) ?? undefined, (k) => query.getAll(k), true);
  const rejection = earlyRejection(deps, declared, multipart || !protocol.formOnly ? null : FORM_REQUIRED, multipart && protocol.formOnly ? null : queryOptions);
  if (rejection) {
    rejectBeforeReading(reply, rejection, declared, protocol);
    return Promise.resolve(null);
  }
  const body = bodyStream(reply);
  const upload: Promise<ReceivedUpload> = multipart
    ? multipartUpload(deps, body, contentType, query, declared, protocol)
    : rawUpload(deps, body, (queryOptions as { options: JobOptions }).options, declared).then((job) => ({ job, fields: new URLSearchParams() }));
  return upload.then(
    (received) => {
      received.job.facts.uploadDone = true;
      received.job.reportProgress();
      return received;
    },
    async (err: unknown) => {
      const failure = err instanceof UploadError ? err : err instanceof UploadAbortedError ? new UploadError("upload_aborted", err.message) : new UploadError("internal_error", "The upload could not be processed.");
      const close = await discardRest(body);
      protocol.sendError(reply, { code: failure.code, message: failure.message, ...(failure.param ? { param: failure.param } : {}) }, {}, close);
      return null;
    },
  );
}

const FORM_REQUIRED: UploadFailure = { code: "bad_request", message: "Send the audio as multipart/form-data with a `file` field.", param: "file" };

/**
 * Bodies up to this size are read and discarded before an error answer, so every HTTP client
 * sees the status; larger ones get the answer at once and the connection is closed.
 */
const DRAIN_LIMIT = 16 * 1024 * 1024;
const ADMISSION_CODES: ErrorCode[] = ["queue_full", "not_ready", "shutting_down"];

/** Admission refusals answer before any body is read (that is their point); others drain small bodies first. */
function rejectBeforeReading(reply: Reply, rejection: Rejection, declared: number | null, protocol: UploadProtocol): void {
  if (ADMISSION_CODES.includes(rejection.code) || (declared !== null && declared > DRAIN_LIMIT)) {
    return protocol.sendError(reply, rejection, rejection.headers, true);
  }
  let discarded = 0;
  reply.res.onData((chunk, isLast) => {
    discarded += chunk.byteLength;
    if (isLast || discarded > DRAIN_LIMIT) protocol.sendError(reply, rejection, rejection.headers, !isLast);
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

interface Rejection extends UploadFailure {
  headers: Record<string, string>;
}

/** `options`: those from the query, when they are the job's (null when only form fields count). */
function earlyRejection(deps: UploadDeps, declared: number | null, badShape: UploadFailure | null, options: ParsedOptions | null): Rejection | null {
  if (declared !== null && !Number.isFinite(declared)) return { code: "bad_request", message: "Invalid Content-Length.", headers: {} };
  if (badShape) return { ...badShape, headers: {} };
  if (options && !options.ok) {
    const { code, message, param } = optionsError(options);
    return { code, message, ...(param ? { param } : {}), headers: {} };
  }
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
    if (source.destroyed) return fail(source.errored);
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
  // The client may leave while the decoder starts; feed() sees that through `destroyed`, not this event.
  body.on("error", () => undefined);
  const { job, input } = await deps.jobs.create(options, declared);
  const counter = byteCounter(deps.maxUploadBytes, (n) => {
    job.facts.uploadedBytes = n;
    job.reportProgress();
  });
  return feed(job, body, counter, input);
}

/**
 * Multipart: the job starts when the `file` part begins, with the options of the fields before
 * it (browsers send parts in form order), and is accepted once the whole form has been read.
 * Fields after the file (as some clients send them) amend the options before the first window.
 */
function multipartUpload(deps: UploadDeps, body: Readable, contentType: string, query: URLSearchParams, declared: number | null, protocol: UploadProtocol): Promise<ReceivedUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { "content-type": contentType }, limits: { fields: 20, fieldSize: 1024, parts: 30 } });
    } catch {
      reject(new UploadError("malformed_multipart", "The multipart body has no valid boundary."));
      return;
    }
    const fields = new URLSearchParams();
    const option = (k: string) => fields.get(k) ?? query.get(k) ?? undefined;
    const options = (k: string) => [...fields.getAll(k), ...query.getAll(k)];
    let job: Job | null = null;
    let fed: Promise<Job> | null = null;
    let settleOptions = () => {};
    const optionsFinal = new Promise<void>((resolve) => (settleOptions = resolve));
    let total = 0;
    const counter = byteCounter(deps.maxUploadBytes, (n) => {
      total = n;
      if (job) job.facts.uploadedBytes = n;
    });
    const fail = (err: unknown) => {
      const failure = err instanceof UploadError ? err : new UploadError("upload_aborted", "The client closed the connection before the upload finished.");
      job?.fail(failure.code, failure.message);
      settleOptions();
      reject(failure);
    };
    parser.on("field", (name, value) => fields.append(name, value));
    parser.on("file", (name, file) => {
      if (name !== "file") return void file.resume();
      if (fed) return fail(new UploadError("multiple_files", "Send one file per job (one `file` field)."));
      const parsed = protocol.parseOptions(option, options, false);
      if (!parsed.ok) return fail(optionsError(parsed));
      file.pause();
      fed = deps.jobs.create(parsed.options, declared, optionsFinal).then(({ job: created, input }) => {
        job = created;
        job.facts.uploadedBytes = total;
        return feed(job, file, byteCounter(Number.MAX_SAFE_INTEGER, () => job?.reportProgress()), input);
      });
      fed.catch(fail);
    });
    parser.on("close", () => {
      if (!fed) return fail(new UploadError("missing_file", "The form has no `file` field.", "file"));
      fed.then((fedJob) => {
        const final = protocol.parseOptions(option, options, true);
        if (!final.ok) return fail(optionsError(final));
        // Transcription waits for optionsFinal, so nothing has read the options yet.
        Object.assign(fedJob.options, final.options);
        settleOptions();
        resolve({ job: fedJob, fields });
      }, fail);
    });
    parser.on("error", (err: Error) => fail(new UploadError("malformed_multipart", `Malformed multipart body: ${err.message}`)));
    counter.on("error", fail);
    body.on("error", fail);
    body.pipe(counter).pipe(parser);
  });
}
