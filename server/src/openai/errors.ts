import { ERROR_CODES } from "@whisperrr/shared";
import type { Reply } from "../http/respond.ts";
import type { UploadFailure } from "../http/upload.ts";

/** OpenAI's error body: clients read `message`, branch on `type`/`code`, and show `param`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Our stable code stays the `code`, except where OpenAI has its own name for the same thing. */
export function openAIError(failure: UploadFailure): { status: number; body: OpenAIErrorBody } {
  const status = ERROR_CODES[failure.code];
  const code = failure.code === "not_found" && failure.param === "model" ? "model_not_found" : failure.code;
  const type = status >= 500 ? "server_error" : "invalid_request_error";
  return { status, body: { error: { message: failure.message, type, param: failure.param ?? null, code } } };
}

export function sendOpenAIError(reply: Reply, failure: UploadFailure, headers: Record<string, string> = {}, closeConnection = false): void {
  const { status, body } = openAIError(failure);
  reply.json(status, body, headers, closeConnection);
}
