import type { CancelledEvent, FailedEvent } from "@whisperrr/shared";
import type { UploadFailure } from "../http/upload.ts";

/** How a job that did not complete is reported to the OpenAI client. */
export function endingFailure(event: FailedEvent | CancelledEvent): UploadFailure {
  if (event.type === "failed") return { code: event.code, message: event.message, param: event.code === "audio_too_long" ? "file" : undefined };
  return { code: "job_cancelled", message: `The transcription was cancelled: ${event.reason}` };
}
