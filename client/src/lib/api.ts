import { ERROR_CODES, isErrorCode, type ErrorCode, type JobCreated, type JobOptions, type TranscriptFormat } from "@whisperrr/shared";

/** Codes the server sends plus the two failures only the browser can see. */
export type ClientErrorCode = ErrorCode | "network_error" | "connection_lost";

export interface ClientError {
  code: ClientErrorCode;
  message: string;
  /** From `Retry-After` on 503 answers. */
  retryAfterSeconds?: number;
}

export function authHeaders(key: string): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** Reads the server's `{error: {code, message}}` body; falls back to a code matching the status. */
export function errorFromResponse(status: number, body: string, retryAfter: string | null): ClientError {
  let code: ClientErrorCode = fallbackCode(status);
  let message = `The server answered ${status}.`;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (isErrorCode(parsed.error?.code)) code = parsed.error.code;
    if (typeof parsed.error?.message === "string") message = parsed.error.message;
  } catch {
    /* not JSON (a proxy's page): keep the generic text */
  }
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  return Number.isFinite(seconds) ? { code, message, retryAfterSeconds: seconds } : { code, message };
}

function fallbackCode(status: number): ErrorCode {
  const match = (Object.entries(ERROR_CODES) as [ErrorCode, number][]).find(([, s]) => s === status);
  return match?.[0] ?? "internal_error";
}

export interface UploadHandle {
  done: Promise<JobCreated>;
  abort(): void;
}

/**
 * Multipart upload through XMLHttpRequest, the one browser API that reports upload progress.
 * Options go before the file so the server reads them first.
 */
export function uploadFile(file: File, options: JobOptions, key: string, onProgress: (loaded: number, total: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<JobCreated>((resolve, reject) => {
    const form = new FormData();
    form.append("language", options.language);
    form.append("task", options.task);
    form.append("file", file, file.name);
    xhr.open("POST", "/api/jobs");
    for (const [k, v] of Object.entries(authHeaders(key))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status === 202) return resolve(JSON.parse(xhr.responseText) as JobCreated);
      reject(errorFromResponse(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
    };
    xhr.onerror = () => reject({ code: "network_error", message: "The upload failed: the server could not be reached or closed the connection." } satisfies ClientError);
    xhr.onabort = () => reject({ code: "upload_aborted", message: "Upload cancelled." } satisfies ClientError);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

async function request(method: string, url: string, key: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { method, headers: authHeaders(key) });
  } catch {
    throw { code: "network_error", message: "The server could not be reached." } satisfies ClientError;
  }
  if (!res.ok) throw errorFromResponse(res.status, await res.text(), res.headers.get("Retry-After"));
  return res;
}

export async function cancelJob(id: string, key: string): Promise<void> {
  await request("DELETE", `/api/jobs/${id}`, key);
}

export function transcriptUrl(id: string, format: TranscriptFormat): string {
  return `/api/jobs/${id}/transcript?format=${format}`;
}

/** Fetches a transcript with the key's header and hands it to the browser as a file download. */
export async function downloadTranscript(id: string, format: TranscriptFormat, baseName: string, key: string): Promise<void> {
  const blob = await (await request("GET", transcriptUrl(id, format), key)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `${baseName}.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function asClientError(err: unknown): ClientError {
  if (typeof err === "object" && err !== null && "code" in err && "message" in err) return err as ClientError;
  return { code: "internal_error", message: err instanceof Error ? err.message : String(err) };
}
