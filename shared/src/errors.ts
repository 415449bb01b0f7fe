/**
 * Stable error codes. Clients switch on `code`; `message` is for humans and may change.
 * Each code maps to the HTTP status used when it is returned from a request
 * (codes that only ever arrive in a `failed` event use 500-range or 422 as a hint).
 */
export const ERROR_CODES = {
  bad_request: 400,
  invalid_option: 400,
  invalid_job_id: 400,
  empty_upload: 400,
  missing_file: 400,
  multiple_files: 400,
  malformed_multipart: 400,
  unauthorized: 401,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  job_finished: 409,
  job_cancelled: 409,
  upload_too_large: 413,
  uri_too_long: 414,
  unsupported_format: 415,
  audio_too_long: 413,
  upload_aborted: 499,
  upload_timeout: 408,
  decode_failed: 422,
  decode_timeout: 504,
  no_audio_stream: 422,
  rate_limited: 429,
  headers_too_large: 431,
  queue_full: 503,
  not_ready: 503,
  shutting_down: 503,
  live_sessions_full: 503,
  idle_timeout: 408,
  live_overflow: 429,
  transcription_failed: 500,
  /** Redis mode: the replicas running the job died MAX_JOB_ATTEMPTS times. */
  worker_lost: 500,
  /** Redis mode: the shared store cannot be reached; retry shortly. */
  store_unavailable: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The message of `store_unavailable`, the same on every transport. */
export const STORE_UNAVAILABLE = "The job store (Redis) cannot be reached right now; retry in a few seconds.";

/** Body of every non-2xx JSON response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}
